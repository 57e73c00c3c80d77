"""How idle OpenMP threads wait: chosen from the machine's load, never over the user."""

import subprocess
import sys

import pytest

from simulate.machine import SPIN_COUNT, busy_cores, choose_openmp_waiting


@pytest.mark.parametrize(
    ("threads", "cores", "busy", "expected"),
    [
        (2, 2, 0.0, "spin"),  # a free machine
        (2, 2, 0.2, "spin"),  # a daemon's worth of work
        (2, 2, 1.0, "passive"),  # one busy process beside two threads
        (1, 2, 1.0, "spin"),  # one thread fits beside it
        (None, 4, 1.0, "passive"),  # default: one thread per core
    ],
)
def test_threads_spin_only_where_the_cores_are_free(threads, cores, busy, expected):
    environ = {}
    assert (
        choose_openmp_waiting(threads, environ=environ, cores=cores, busy=busy)
        == expected
    )
    if expected == "spin":
        assert environ == {"GOMP_SPINCOUNT": str(SPIN_COUNT)}
    else:
        assert environ == {"OMP_WAIT_POLICY": "PASSIVE"}


def test_threads_sleep_where_the_load_is_unknown(monkeypatch):
    monkeypatch.setattr("simulate.machine.busy_cores", lambda: None)
    environ = {}
    assert choose_openmp_waiting(1, environ=environ, cores=2) == "passive"
    assert environ == {"OMP_WAIT_POLICY": "PASSIVE"}


@pytest.mark.parametrize("name", ["OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME"])
def test_a_choice_in_the_environment_is_kept(name):
    environ = {name: "7"}
    assert choose_openmp_waiting(2, environ=environ, cores=2, busy=0.0) == "environment"
    assert environ == {name: "7"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/stat")
def test_busy_cores_sees_a_spinning_process():
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        busy = busy_cores(0.5)
    finally:
        spinner.kill()
        spinner.wait()
    assert busy is not None and busy >= 0.6


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_blocks_are_reused_without_page_faults():
    # In a fresh interpreter: the setting is process-wide. A 16 MiB block,
    # freed and allocated again, is served from the heap, so touching it the
    # second time faults in (almost) no pages; 4096 pages would be faulted if
    # it were returned to the OS and mapped anew.
    script = """
import resource, numpy as np
from simulate.machine import keep_freed_memory
assert keep_freed_memory()
block = np.ones(4 * 1024 * 1024, dtype=np.float32); del block
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
block = np.ones(4 * 1024 * 1024, dtype=np.float32)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert int(done.stdout) < 64
