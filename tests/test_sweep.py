"""Sweeps on a small LocalCluster on loopback, and the run lock."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.cli_helpers import ROOT, assert_bad_input, run_cli, run_json
from validate.sweep import LOCKS, SweepSpec, run_state, train_one

TINY = (
    "--steps 4 --hidden 8 --place-cells 32 --batch-size 8 --sequence-length 5 "
    "--eval-walks 40 --threads 1 --no-progress"
)


def read_rows(path):
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


def test_sweep_runs_skips_and_summarises(tmp_path):
    out = tmp_path / "sweep"
    args = [
        "sweep",
        "--widths",
        "0.11",
        "0.13",
        "--seeds",
        "0",
        "--out",
        out,
        "--workers",
        "2",
        "--train-args",
        TINY,
        "--no-progress",
    ]
    first = run_json(*args, timeout=600)
    assert first["complete"] and first["finished"] == 2
    rows = read_rows(out / "summary.csv")
    assert [r["state"] for r in rows] == ["finished", "finished"]
    assert sorted(float(r["width"]) for r in rows) == [0.11, 0.13]
    assert not (out / "summary.partial.csv").exists()
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("*/scores.json")}
    second = run_json(*args, timeout=600)
    assert second["finished"] == 2
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/scores.json")} == stamps


def test_interrupted_run_resumes_to_the_uninterrupted_result(tmp_path):
    # A run stopped after 2 of 4 steps (checkpoint, no scores) is resumed by
    # the sweep and ends where a straight 4-step run ends.
    spec = SweepSpec(widths=(0.12,), seeds=(1,), train_args=tuple(TINY.split()))
    run = spec.runs()[0]
    sweep_dir = tmp_path / "sweep"
    sweep_dir.mkdir()
    short = [a if a != "4" else "2" for a in TINY.split()]
    done = run_cli(
        "train",
        "--width",
        "0.12",
        "--seed",
        "1",
        "--out",
        sweep_dir / run["name"],
        *short,
    )
    assert done.returncode == 0, done.stderr
    (sweep_dir / run["name"] / "scores.json").unlink()
    assert run_state(sweep_dir / run["name"]) == "interrupted"
    assert train_one(str(sweep_dir), run, spec.train_args)["state"] == "finished"

    straight = tmp_path / "straight"
    done = run_cli(
        "train", "--width", "0.12", "--seed", "1", "--out", straight, *TINY.split()
    )
    assert done.returncode == 0, done.stderr
    with (
        np.load(straight / "ratemaps.npz") as a,
        np.load(sweep_dir / run["name"] / "ratemaps.npz") as b,
    ):
        np.testing.assert_array_equal(a["ratemaps"], b["ratemaps"])
    steps = [
        json.loads(line)["step"]
        for line in (sweep_dir / run["name"] / "metrics.jsonl").read_text().splitlines()
    ]
    assert len(steps) == len(set(steps))


def test_killed_task_keeps_its_lock_and_no_run_is_duplicated(tmp_path):
    # Kill the process running a task (as a dying worker would) while its
    # training process runs: the orphan keeps the lock, and a second task
    # waits for it and then finds the run finished instead of training again.
    spec = SweepSpec(
        widths=(0.12,),
        seeds=(2,),
        train_args=tuple(TINY.replace("--steps 4", "--steps 60").split()),
    )
    run = spec.runs()[0]
    sweep_dir = tmp_path / "sweep"
    sweep_dir.mkdir()
    code = (
        "import sys, json; from validate.sweep import train_one; "
        f"train_one({str(sweep_dir)!r}, json.loads(sys.argv[1]), {spec.train_args!r})"
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", code, json.dumps(run)], cwd=ROOT, start_new_session=True
    )
    lock = sweep_dir / LOCKS / f"{run['name']}.lock"
    deadline = time.time() + 120
    while not (sweep_dir / run["name"]).exists() and time.time() < deadline:
        time.sleep(0.1)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    assert lock.exists()
    result = train_one(str(sweep_dir), run, spec.train_args)
    assert result["state"] == "finished"
    assert result["skipped"]  # the orphan finished it; nothing trained twice
    steps = [
        json.loads(line)["step"]
        for line in (sweep_dir / run["name"] / "metrics.jsonl").read_text().splitlines()
    ]
    assert len(steps) == len(set(steps))


def test_failed_runs_leave_only_a_partial_summary(tmp_path):
    out = tmp_path / "sweep"
    out.mkdir()
    (out / "summary.csv").write_text("stale\n")
    done = run_cli(
        "sweep",
        "--widths",
        "0.12",
        "--seeds",
        "0",
        "--out",
        out,
        "--workers",
        "1",
        "--no-progress",
        "--train-args",
        TINY.replace("--hidden 8", "--hidden 0"),
        timeout=600,
    )
    assert_bad_input(done, "failed")
    assert not (out / "summary.csv").exists()
    rows = read_rows(out / "summary.partial.csv")
    assert rows[0]["state"] != "finished"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--widths", "--out", "OUT"], ["at least one width"]),
        (["--widths", "0.12", "--seeds", "--out", "OUT"], ["at least one seed"]),
        (["--widths", "-0.1", "--out", "OUT"], ["widths"]),
        (
            ["--widths", "0.12", "--encoding", "nope", "--out", "OUT"],
            ["unknown encoding"],
        ),
        (
            ["--widths", "0.12", "--out", "OUT", "--train-args", "--bogus 3"],
            ["train-args"],
        ),
        (
            ["--widths", "0.12", "--out", "OUT", "--scheduler", "tcp://127.0.0.1:9"],
            ["cannot reach"],
        ),
    ],
)
def test_sweep_bad_input(tmp_path, args, words):
    out = tmp_path / "out"
    args = [str(out) if a == "OUT" else a for a in args]
    assert_bad_input(run_cli("sweep", *args), *words)
    assert not (out / "summary.csv").exists()
