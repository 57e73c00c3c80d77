"""Sweeps: one training run per (encoding, width, seed) on a Dask cluster.

A sweep directory holds one run directory per combination plus
``summary.csv``. Each run is a ``turing-grids train`` process (the stable
command-line contract) started by a Dask task. Guarantees:

- running a sweep again skips finished runs (``scores.json`` present) and
  resumes interrupted ones from their checkpoint (``--resume``);
- a worker killed mid-run loses nothing: Dask reschedules the task, which
  resumes from the run's last checkpoint;
- no run is trained twice at once: the training process holds an exclusive
  lock (``flock``) on ``.locks/NAME.lock`` for its whole life, inherited from
  the task, so even a training process orphaned by a killed worker keeps it
  and a rescheduled task waits for it, then finds the run finished;
- ``summary.csv`` is written (atomically) only when every run finished;
  otherwise ``summary.partial.csv`` says which did not, and a stale
  ``summary.csv`` is removed.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from simulate.files import write_text
from validate.parallel import available_cores

log = logging.getLogger(__name__)

SUMMARY = "summary.csv"
PARTIAL_SUMMARY = "summary.partial.csv"
FINISHED_MARK = "scores.json"
CHECKPOINT = "checkpoint.pt"
LOCKS = ".locks"
#: Seconds to wait for a scheduler given by address before giving up.
CONNECT_TIMEOUT = 5


@dataclass(frozen=True)
class SweepSpec:
    """The combinations of a sweep and the training options shared by all.

    Parameters
    ----------
    widths : tuple of float
        Place-cell widths (m).
    seeds : tuple of int
        Seeds of the runs.
    encodings : tuple of str
        Target encodings.
    train_args : tuple of str
        Further ``turing-grids train`` options for every run, e.g.
        ``("--steps", "2000", "--hidden", "256")``.
    """

    widths: tuple[float, ...]
    seeds: tuple[int, ...]
    encodings: tuple[str, ...] = ("dos",)
    train_args: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.widths:
            raise ValueError("the sweep needs at least one width")
        if not self.seeds:
            raise ValueError("the sweep needs at least one seed")
        if not self.encodings:
            raise ValueError("the sweep needs at least one encoding")
        for width in self.widths:
            if not (float(width) > 0 and float(width) < float("inf")):
                raise ValueError(
                    f"widths must be positive finite metres, got {width!r}"
                )
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct, got {list(self.seeds)}")

    def runs(self) -> list[dict]:
        """One dict per run: ``name``, ``encoding``, ``width``, ``seed``."""
        return [
            {
                "name": f"{encoding}_w{width:.4f}_s{seed}",
                "encoding": encoding,
                "width": float(width),
                "seed": int(seed),
            }
            for encoding in self.encodings
            for width in self.widths
            for seed in self.seeds
        ]


def run_state(run_dir: Path) -> str:
    """``finished``, ``interrupted`` (has a checkpoint), ``empty`` or ``absent``."""
    if (run_dir / FINISHED_MARK).is_file():
        return "finished"
    if (run_dir / CHECKPOINT).is_file():
        return "interrupted"
    return "empty" if run_dir.exists() else "absent"


def train_one(sweep_dir: str, run: dict, train_args: tuple[str, ...]) -> dict:
    """Dask task: train one run to completion under its lock; returns its state."""
    sweep_dir = Path(sweep_dir)
    run_dir = sweep_dir / run["name"]
    lock_path = sweep_dir / LOCKS / f"{run['name']}.lock"
    lock_path.parent.mkdir(exist_ok=True)
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # waits for any other holder
        state = run_state(run_dir)
        if state == "finished":
            return {"name": run["name"], "state": "finished", "skipped": True}
        if state == "empty":
            shutil.rmtree(run_dir)  # died before its first checkpoint: start over
        command = [
            sys.executable,
            "-m",
            "validate",
            "train",
            "--encoding",
            run["encoding"],
            "--width",
            repr(run["width"]),
            "--seed",
            str(run["seed"]),
            "--out",
            str(run_dir),
            *train_args,
            "--json",
        ]
        if state == "interrupted":
            command.append("--resume")
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            pass_fds=(lock.fileno(),),
            stdin=subprocess.DEVNULL,
        )
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"run {run['name']} failed: {message}")
    return {"name": run["name"], "state": run_state(run_dir), "skipped": False}


def connect(scheduler: str | None, *, workers: int | None = None, threads: int = 1):
    """A Dask client: to ``scheduler`` if given, else a LocalCluster on loopback."""
    quiet = "error" if log.isEnabledFor(logging.INFO) else "critical"
    # Workers inherit the environment: keep their logs off the user's stderr.
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", quiet)
    logging.getLogger("distributed").setLevel(quiet.upper())
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise ValueError(
                f"cannot reach Dask scheduler at {scheduler!r}: {exc}"
            ) from None
    if workers is None:
        workers = max(1, available_cores() // max(threads, 1))
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # a free port: never clash with 8787
    )
    return Client(cluster)


def run_sweep(
    spec: SweepSpec,
    sweep_dir: str | os.PathLike,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    retries: int = 2,
) -> dict:
    """Run (or finish) a sweep and write its summary.

    Parameters
    ----------
    spec : SweepSpec
        The runs.
    sweep_dir : path
        The sweep directory (created if absent).
    scheduler : str, optional
        Address of a Dask scheduler; default a LocalCluster on this machine.
    workers : int, optional
        Workers of the LocalCluster (default: one per core).
    progress : bool
        A tqdm progress bar on stderr.
    retries : int
        Extra attempts of a run whose process failed (a worker dying is
        retried by Dask itself).

    Returns
    -------
    dict
        ``runs`` (states), ``finished``, ``failed``, ``summary`` (path).
    """
    from dask.distributed import as_completed
    from tqdm import tqdm

    sweep_dir = Path(sweep_dir)
    if sweep_dir.exists() and not sweep_dir.is_dir():
        raise ValueError(f"sweep directory {str(sweep_dir)!r} is a file")
    runs = spec.runs()
    client = connect(scheduler, workers=workers)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    write_text(
        sweep_dir / "sweep.json",
        json.dumps(
            {
                "widths": list(spec.widths),
                "seeds": list(spec.seeds),
                "encodings": list(spec.encodings),
                "train_args": list(spec.train_args),
            },
            indent=2,
        )
        + "\n",
    )
    states: dict[str, str] = {}
    errors: dict[str, str] = {}
    try:
        pending = []
        for run in runs:
            if run_state(sweep_dir / run["name"]) == "finished":
                states[run["name"]] = "finished"
                continue
            pending.append(
                client.submit(
                    train_one,
                    str(sweep_dir.resolve()),
                    run,
                    spec.train_args,
                    key=f"train-{run['name']}",
                    retries=retries,
                    pure=False,
                )
            )
        bar = tqdm(
            total=len(runs),
            initial=len(runs) - len(pending),
            desc="sweep",
            unit="run",
            disable=not progress,
            file=sys.stderr,
        )
        names = {future.key: future.key.removeprefix("train-") for future in pending}
        for future in as_completed(pending):
            name = names[future.key]
            try:
                states[name] = future.result()["state"]
            except Exception as exc:  # a run that kept failing
                states[name] = "failed"
                errors[name] = str(exc).splitlines()[0] if str(exc) else repr(exc)
            bar.update(1)
        bar.close()
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None and scheduler is None:
            cluster.close()

    summary_path = write_summary(sweep_dir, runs, states, errors)
    return {
        "sweep_dir": str(sweep_dir),
        "runs": states,
        "errors": errors,
        "finished": sum(state == "finished" for state in states.values()),
        "failed": sorted(errors),
        "summary": str(summary_path),
        "complete": summary_path.name == SUMMARY,
    }


def write_summary(
    sweep_dir: Path, runs: list[dict], states: dict, errors: dict
) -> Path:
    """``summary.csv`` if every run finished, else ``summary.partial.csv``."""
    from validate.compare import run_summary

    rows = []
    for run in runs:
        run_dir = sweep_dir / run["name"]
        row = {
            "run": run["name"],
            "encoding": run["encoding"],
            "width": run["width"],
            "seed": run["seed"],
            "state": states.get(run["name"], run_state(run_dir)),
            "error": errors.get(run["name"], ""),
        }
        if row["state"] == "finished":
            row.update(run_summary(run_dir, null=None))
        rows.append(row)
    complete = all(row["state"] == "finished" for row in rows)
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _cell(row.get(key)) for key in columns})
    target = sweep_dir / (SUMMARY if complete else PARTIAL_SUMMARY)
    stale = sweep_dir / (PARTIAL_SUMMARY if complete else SUMMARY)
    write_text(target, buffer.getvalue())
    with contextlib.suppress(FileNotFoundError):
        stale.unlink()
    return target


def _cell(value):
    if isinstance(value, float):
        return "" if value != value else f"{value:.6g}"
    if isinstance(value, list | tuple | dict):
        return json.dumps(value)
    return "" if value is None else value
