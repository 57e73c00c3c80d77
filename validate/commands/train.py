"""``turing-grids train``: train one path-integrating RNN into a run directory.

The run directory holds ``config.json`` (every parameter), ``place_cells.npz``
(the run's seeded place-cell population), ``checkpoint.pt`` (written
atomically), ``metrics.jsonl`` (one line per logging step), and the latest
evaluation's ``ratemaps.npz`` and ``scores.json``. ``--resume`` continues
from the checkpoint to exactly what an uninterrupted run gives; an existing
run directory is never overwritten without it.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import json
import math
import platform
import sys
from pathlib import Path
from typing import Any

from simulate.machine import choose_openmp_waiting
from validate.cli import CommandError, add_json_flag

CONFIG = "config.json"
PLACE_CELLS = "place_cells.npz"
CM_PER_M = 100.0

#: Flags that set the run; on ``--resume`` they must match the saved run
#: (flag -> (config section, key)).
_RUN_FLAGS = {
    "encoding": ("encoding", "name"),
    "width": ("encoding", "width"),
    "surround_scale": ("encoding", "surround_scale"),
    "surround_convention": ("encoding", "convention"),
    "place_cells": ("encoding", "n_cells"),
    "box_width": ("encoding", "box_width"),
    "periodic": ("encoding", "periodic"),
    "hidden": ("model", "hidden"),
    "rnn": ("model", "cell"),
    "batch_size": ("train", "batch_size"),
    "sequence_length": ("train", "sequence_length"),
    "seed": ("train", "seed"),
    "lr": ("train", "learning_rate"),
    "lr_half_life": ("train", "lr_half_life"),
    "weight_decay": ("train", "weight_decay"),
    "weight_decay_start": ("train", "weight_decay_start"),
    "dtype": ("train", "dtype"),
    "compile": ("train", "compile"),
}


def register(subparsers, parser_class=argparse.ArgumentParser) -> None:
    """Add the ``train`` subcommand."""
    from simulate.config import (
        DEFAULT_BATCH,
        DEFAULT_HIDDEN,
        DEFAULT_LEARNING_RATE,
        DEFAULT_SEQUENCE,
        DEFAULT_STEPS,
        DEFAULT_WEIGHT_DECAY,
        DEFAULT_WEIGHT_DECAY_START,
    )

    p = subparsers.add_parser(
        "train",
        help="train one path-integrating RNN; checkpoints, rate maps, scores",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--encoding", help="target encoding, e.g. dos (default dos)")
    p.add_argument("--width", type=float, help="place-cell width sigma (m)")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument(
        "--steps", type=int, help=f"total optimiser steps (default {DEFAULT_STEPS})"
    )
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument(
        "--hidden", type=int, help=f"recurrent units (default {DEFAULT_HIDDEN})"
    )
    p.add_argument("--place-cells", type=int, help="readout cells Np (default 512)")
    p.add_argument(
        "--batch-size", type=int, help=f"walks per step (default {DEFAULT_BATCH})"
    )
    p.add_argument(
        "--sequence-length",
        type=int,
        help=f"input steps per walk (default {DEFAULT_SEQUENCE})",
    )
    p.add_argument("--seed", type=int, help="seed of cells, walks, weights (0)")
    p.add_argument(
        "--lr",
        type=float,
        help=f"Adam learning rate (default {DEFAULT_LEARNING_RATE:g})",
    )
    p.add_argument(
        "--lr-half-life",
        type=float,
        help="steps over which the learning rate halves (default: constant)",
    )
    p.add_argument(
        "--weight-decay",
        type=float,
        help=f"L2 penalty coefficient on W_rec (default {DEFAULT_WEIGHT_DECAY:g})",
    )
    p.add_argument(
        "--weight-decay-start",
        type=int,
        help="step at which the penalty switches on "
        f"(default {DEFAULT_WEIGHT_DECAY_START})",
    )
    p.add_argument("--rnn", choices=("rnn", "gru", "lstm"), help="cell (rnn)")
    p.add_argument("--surround-scale", type=float, help="surround scale s (default 2)")
    p.add_argument(
        "--surround-convention",
        choices=("paper", "sorscher"),
        help="paper: surround sigma = s sigma (default); sorscher: sqrt(s) sigma",
    )
    p.add_argument(
        "--box-width", type=float, help="side of the square box (m, default 2.2)"
    )
    p.add_argument(
        "--periodic", action="store_true", default=None, help="a periodic box"
    )
    p.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    p.add_argument("--device", help="torch device, e.g. cpu (default) or cuda")
    p.add_argument("--dtype", choices=("float32", "float64"), help="weights (float32)")
    p.add_argument(
        "--eval-every",
        type=int,
        help="steps between rate maps and scores (default: only at the end)",
    )
    p.add_argument(
        "--eval-walks",
        type=int,
        help="evaluation walks of 50 steps for the rate maps (default 4000)",
    )
    p.add_argument(
        "--null-samples",
        type=int,
        help="surrogate maps per unit of the final null calibration "
        "(default 100; 0 skips it)",
    )
    p.add_argument(
        "--checkpoint-every", type=int, help="steps between checkpoints (500)"
    )
    p.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="torch.compile the targets and the loss: about 1.5x faster steps "
        "after a one-off compilation of 20-60 s (default: on for runs of 2000 "
        "steps or more; falls back to eager if compiling fails)",
    )
    p.add_argument(
        "--no-progress", action="store_true", help="no progress bar on stderr"
    )
    add_json_flag(p)
    p.set_defaults(run=run)


def run(args) -> tuple[dict[str, Any], str]:
    """Train (or resume) a run; returns (result dict, human-readable text)."""
    out = Path(args.out)
    _check_flags(args)
    # Before anything loads torch (planning does): how idle OpenMP threads
    # wait, spinning on free cores, sleeping on a busy machine (see
    # simulate.machine).
    waiting = choose_openmp_waiting(args.threads)
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is a file, not a run directory")
    if args.resume:
        plan = _resume_plan(args, out)
    else:
        if out.is_dir() and any(out.iterdir()):
            raise CommandError(
                f"run directory {out} already exists and is not empty; "
                "pass --resume to continue it or choose another --out"
            )
        plan = _new_plan(args)

    # Heavy imports only now, after every check of the input.
    import torch

    from simulate.files import write_json, write_npz
    from simulate.trainer import Trainer, read_checkpoint
    from validate.evaluation import GridEvaluation

    encoding, cells, model_config, config = plan["run"]
    evaluation_options = {"walks": args.eval_walks, "null_samples": args.null_samples}
    evaluation = GridEvaluation(
        **{k: v for k, v in evaluation_options.items() if v is not None}
    )
    if args.resume:
        read_checkpoint(out / "checkpoint.pt")  # corrupt: ValueError, nothing written
    trainer = Trainer(encoding, cells, model_config, config, run_dir=out)
    if args.resume:
        trainer.load_checkpoint()
    else:
        out.mkdir(parents=True, exist_ok=True)
        write_npz(out / PLACE_CELLS, **cells.to_dict())
    write_json(
        out / CONFIG,
        _config_record(
            trainer, evaluation, torch_version=torch.__version__, waiting=waiting
        ),
    )

    last = trainer.run(evaluate=evaluation, progress=not args.no_progress)
    steps_per_second = (
        trainer.step / trainer.train_seconds if trainer.train_seconds > 0 else None
    )
    result = {
        "out": str(out),
        "encoding": encoding.name,
        "width": encoding.width,
        "surround_scale": encoding.surround_scale,
        "surround_convention": encoding.convention,
        "step": trainer.step,
        "loss": last.get("loss"),
        "decoding_error": last.get("decoding_error"),
        "best_score_60": last.get("best_score_60"),
        "fraction_score_60_above_0.3": last.get("fraction_score_60_above_0.3"),
        "fraction_score_60_above_0.8": last.get("fraction_score_60_above_0.8"),
        "median_grid_period": last.get("median_grid_period"),
        "fraction_beating_null": last.get("fraction_beating_null"),
        "null": last.get("null"),
        "train_seconds": trainer.train_seconds,
        "steps_per_second": steps_per_second,
        "flops_per_step": trainer.flops_per_step(),
        "threads": torch.get_num_threads(),
        "openmp_waiting": waiting,
        "files": sorted(p.name for p in out.iterdir() if not p.name.startswith(".")),
        "units_of": {"decoding_error": "m", "median_grid_period": "m"},
    }
    return result, _text(result)


# -- checks and plans ---------------------------------------------------------


def _check_flags(args) -> None:
    """Bad numbers end the command before anything is read or written."""
    from validate.nulls import MIN_NULL_SAMPLES

    positive_int = ("steps", "hidden", "place_cells", "batch_size", "sequence_length")
    for name in (*positive_int, "threads", "eval_every", "eval_walks"):
        value = getattr(args, name)
        if value is not None and value < 1:
            flag = "--" + name.replace("_", "-")
            raise CommandError(f"{flag} must be a positive integer, got {value}")
    for name in ("checkpoint_every", "weight_decay_start", "seed", "null_samples"):
        value = getattr(args, name)
        if value is not None and value < 0:
            flag = "--" + name.replace("_", "-")
            raise CommandError(f"{flag} must be >= 0, got {value}")
    for name in ("lr", "width", "surround_scale", "box_width", "lr_half_life"):
        value = getattr(args, name)
        if value is not None and not (math.isfinite(value) and value > 0):
            flag = "--" + name.replace("_", "-")
            raise CommandError(f"{flag} must be a positive number, got {value}")
    if args.null_samples is not None and 0 < args.null_samples < MIN_NULL_SAMPLES:
        raise CommandError(
            f"--null-samples must be 0 (no calibration) or at least "
            f"{MIN_NULL_SAMPLES}, got {args.null_samples}"
        )
    if args.weight_decay is not None and not (
        math.isfinite(args.weight_decay) and args.weight_decay >= 0
    ):
        raise CommandError(f"--weight-decay must be >= 0, got {args.weight_decay}")


def _new_plan(args) -> dict[str, Any]:
    from simulate.config import AUTO_COMPILE_MIN_STEPS, ModelConfig, TrainConfig
    from simulate.trainer import draw_run_cells
    from theory.encodings import Encoding

    encoding_options = {
        "width": args.width,
        "surround_scale": args.surround_scale,
        "convention": args.surround_convention,
        "n_cells": args.place_cells,
        "box_width": args.box_width,
        "periodic": args.periodic,
    }
    encoding = Encoding(
        args.encoding or "dos",
        **{k: v for k, v in encoding_options.items() if v is not None},
    )
    model_options = {"hidden": args.hidden, "cell": args.rnn}
    model_config = ModelConfig(
        outputs=encoding.n_outputs,
        **{k: v for k, v in model_options.items() if v is not None},
    )
    options = _train_options(args)
    if args.compile is None:  # auto: compile only runs long enough to repay it
        steps = options.get("steps", TrainConfig().steps)
        options["compile"] = steps >= AUTO_COMPILE_MIN_STEPS
    config = TrainConfig(**options)
    cells = draw_run_cells(encoding, config.seed)
    return {"run": (encoding, cells, model_config, config)}


def _train_options(args, saved: dict | None = None) -> dict[str, Any]:
    options = dict(saved or {})
    flags = {
        "steps": args.steps,
        "batch_size": args.batch_size,
        "sequence_length": args.sequence_length,
        "seed": args.seed,
        "learning_rate": args.lr,
        "lr_half_life": args.lr_half_life,
        "weight_decay": args.weight_decay,
        "weight_decay_start": args.weight_decay_start,
        "threads": args.threads,
        "device": args.device,
        "dtype": args.dtype,
        "eval_every": args.eval_every,
        "checkpoint_every": args.checkpoint_every,
        "compile": args.compile,
    }
    options.update({k: v for k, v in flags.items() if v is not None})
    return options


def _resume_plan(args, out: Path) -> dict[str, Any]:
    import numpy as np

    from simulate.config import ModelConfig, TrainConfig
    from simulate.trainer import CHECKPOINT
    from theory.cells import PlaceCells
    from theory.encodings import Encoding

    if not out.is_dir():
        raise CommandError(f"--resume: no run directory at {out}")
    if not (out / CHECKPOINT).is_file():
        raise CommandError(f"--resume: no checkpoint at {out / CHECKPOINT}")
    try:
        saved = json.loads((out / CONFIG).read_text(encoding="utf-8"))
        encoding_dict = dict(saved["encoding"])
        model_dict = dict(saved["model"])
        train_dict = dict(saved["train"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CommandError(
            f"--resume: {out / CONFIG} is missing or unreadable ({exc})"
        ) from None

    for flag, (section, key) in _RUN_FLAGS.items():
        given = getattr(args, flag)
        if given is None:
            continue
        value = {"encoding": encoding_dict, "model": model_dict, "train": train_dict}[
            section
        ].get(key)
        if given != value:
            raise CommandError(
                f"--{flag.replace('_', '-')} {given} differs from the run's "
                f"{key} = {value}; a resumed run keeps its settings"
            )

    fields = {
        f.name for f in dataclasses.fields(Encoding) if not f.name.startswith("_")
    }
    for key in ("width_range", "surround_scale_range"):
        if encoding_dict.get(key) is not None:
            encoding_dict[key] = tuple(encoding_dict[key])
    encoding = Encoding(**{k: v for k, v in encoding_dict.items() if k in fields})
    model_config = ModelConfig(**model_dict)
    config = TrainConfig(**_train_options(args, train_dict))
    try:
        with np.load(out / PLACE_CELLS, allow_pickle=False) as archive:
            cells = PlaceCells.from_dict(dict(archive))
    except (OSError, ValueError) as exc:
        raise CommandError(
            f"--resume: cannot read {out / PLACE_CELLS} ({exc})"
        ) from None
    return {"run": (encoding, cells, model_config, config)}


def _config_record(
    trainer, evaluation, *, torch_version: str, waiting: str
) -> dict[str, Any]:
    from simulate.trajectories import walk_to_dict

    try:
        version = importlib.metadata.version("turing-grids")
    except importlib.metadata.PackageNotFoundError:
        version = None
    import torch

    return {
        "package": "turing-grids",
        "version": version,
        "torch_version": torch_version,
        "python_version": platform.python_version(),
        "seed": trainer.config.seed,
        "surround_convention": trainer.encoding.convention,
        "threads": torch.get_num_threads(),
        "openmp_waiting": waiting,
        "encoding": trainer.encoding.to_dict(),
        "model": dataclasses.asdict(trainer.model_config),
        "train": dataclasses.asdict(trainer.config),
        "walk": walk_to_dict(trainer.walk),
        "evaluation": dataclasses.asdict(evaluation),
        "flops_per_step": trainer.flops_per_step(),
        "command": " ".join(sys.argv),
        "units_of": {
            "width": "m",
            "box_width": "m",
            "box_height": "m",
            "dt": "s",
            "speed_scale": "m/s",
            "turn_sd": "rad/s",
            "border": "m",
        },
    }


def _text(result: dict[str, Any]) -> str:
    def cm(value):
        return "n/a" if value is None else f"{value * CM_PER_M:.1f} cm"

    def number(value, spec):
        return "n/a" if value is None else format(value, spec)

    rate = result["steps_per_second"]
    return "\n".join(
        [
            f"{result['out']}: step {result['step']}, loss "
            f"{number(result['loss'], '.4f')}",
            f"decoding error {cm(result['decoding_error'])}, best 60-degree score "
            f"{number(result['best_score_60'], '.2f')}, units above 0.3: "
            f"{number(result['fraction_score_60_above_0.3'], '.1%')}, above 0.8: "
            f"{number(result['fraction_score_60_above_0.8'], '.1%')}",
            f"median grid period (units above 0.3) {cm(result['median_grid_period'])}",
            f"{number(rate, '.1f')} steps/s on {result['threads']} threads, "
            f"{result['flops_per_step'] / 1e9:.2f} GFLOP per step",
        ]
    )
