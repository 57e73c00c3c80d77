"""Run the command line in a subprocess, as a user would."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, cwd=None, timeout=300):
    """Run ``turing-grids ARGS``; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "validate", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=timeout,
    )


def run_json(*args, **kwargs):
    """Run with ``--json``; assert success and one JSON object on stdout."""
    done = run_cli(*args, "--json", **kwargs)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    return json.loads(lines[0])


def assert_bad_input(done, *words):
    """Exit status 2, one line on stderr naming the problem, no traceback."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert done.stdout == ""
