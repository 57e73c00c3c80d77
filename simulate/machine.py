"""What this machine offers a run: its cores, and how idle OpenMP threads wait.

torch runs each operation on a team of OpenMP threads; between operations the
idle threads either spin or sleep. A training step of the compact network is
hundreds of short operations, so sleeping threads (``OMP_WAIT_POLICY=PASSIVE``)
pay a wake-up for each: a 512-unit step took 82 ms instead of 68 ms with the
cores free. Spinning threads, on the other hand, steal the cores from the
working ones when other processes share them: beside one busy process the
same step took 566 ms with GNU OpenMP's default spinning, 84 ms with
sleeping threads. So the choice is
made from how busy the machine is, before torch (and OpenMP) load, and a
choice already in the environment is always kept.

It also keeps freed memory for reuse (:func:`keep_freed_memory`), which
spares a training step its page faults.

No torch here: this module must be imported before torch is.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import time
from collections.abc import MutableMapping

#: Spins of an idle thread before it sleeps (GNU OpenMP; its own default is
#: 300000, which made steps several times slower next to a busy process).
SPIN_COUNT = 3000
#: Cores' worth of other work still counted as a free machine (daemons, a
#: shell, the sampling itself).
FREE_SLACK = 0.3
#: Variables that already say how OpenMP threads wait.
_WAIT_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")


def available_cores() -> int:
    """CPU cores this process may run on (its affinity where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def busy_cores(seconds: float = 0.2) -> float | None:
    """Cores kept busy by other processes over the next ``seconds`` (Linux).

    Measured from ``/proc/stat`` while this process sleeps, so it counts the
    others only; None where there is no ``/proc/stat``.
    """

    def sample() -> tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as stream:
            fields = [int(value) for value in stream.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields[:8]), idle

    try:
        total_before, idle_before = sample()
        time.sleep(seconds)
        total_after, idle_after = sample()
    except (OSError, ValueError, IndexError):
        return None
    elapsed = total_after - total_before
    if elapsed <= 0:
        return None
    busy_fraction = 1.0 - (idle_after - idle_before) / elapsed
    return busy_fraction * (os.cpu_count() or 1)


def choose_openmp_waiting(
    threads: int | None = None,
    *,
    environ: MutableMapping[str, str] | None = None,
    cores: int | None = None,
    busy: float | None = None,
) -> str:
    """Set how idle OpenMP threads wait, from how busy the machine is now.

    Threads spin briefly (``GOMP_SPINCOUNT``) when the run's threads fit on
    the cores other processes leave free, and sleep (``OMP_WAIT_POLICY=
    PASSIVE``) otherwise. Call it before importing torch; it has no effect
    once OpenMP is loaded. A machine that becomes busy later keeps the choice
    (steps were then 1.75x slower than with sleeping threads, not several
    times): set ``OMP_WAIT_POLICY=PASSIVE`` to be safe on a shared machine.

    Parameters
    ----------
    threads : int, optional
        Threads the run will use (None: one per available core).
    environ : mapping, optional
        The environment to set (default ``os.environ``).
    cores, busy : optional
        Available cores, and cores other processes keep busy (default: both
        measured; see :func:`busy_cores`). Where ``busy`` cannot be measured,
        threads sleep.

    Returns
    -------
    str
        ``"spin"`` or ``"passive"``; ``"environment"`` where the environment
        already chose, ``"loaded"`` where torch (and OpenMP) is already
        loaded in this process (nothing is changed then).
    """
    environ = os.environ if environ is None else environ
    if any(name in environ for name in _WAIT_VARIABLES):
        return "environment"
    if environ is os.environ and "torch" in sys.modules:
        return "loaded"  # OpenMP has read its settings already
    cores = available_cores() if cores is None else cores
    busy = busy_cores() if busy is None else busy
    threads = cores if threads is None else threads
    if busy is not None and threads + busy <= cores + FREE_SLACK:
        environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
        return "spin"
    environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return "passive"


#: glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Blocks up to this size come from the heap rather than their own mapping
#: (the ceiling of glibc's own, self-adjusting threshold on 64-bit systems).
MMAP_THRESHOLD = 32 * 1024 * 1024
#: Free memory at the top of the heap kept rather than returned to the OS.
TRIM_THRESHOLD = 512 * 1024 * 1024


def keep_freed_memory() -> bool:
    """Let glibc keep freed blocks of up to 32 MiB for reuse (process-wide).

    Each training step allocates and frees tens of megabytes of tensors.
    glibc returns such blocks to the operating system, so the next step
    faults the pages in again and the kernel zeroes them: 1000 page faults
    and 8.6 ms of system time per step of the 512-unit network, about 7% of
    its wall time. With the thresholds raised, the heap keeps them (up to
    512 MiB of free memory at its top). The process holds its peak memory
    instead; results do not change.

    Returns
    -------
    bool
        Whether the setting took (False where the C library is not glibc).
    """
    name = ctypes.util.find_library("c")
    if not sys.platform.startswith("linux") or name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    return bool(
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
