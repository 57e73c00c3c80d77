"""Configurations of the network and of a training run (no torch needed).

Frozen dataclasses, validated on construction, so that the command line can
show defaults and check its input before importing torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

CELLS = ("rnn", "gru", "lstm")
DTYPES = ("float32", "float64")
#: Default number of recurrent units of the compact CPU configuration. Time to
#: grid on 2 free cores (``benchmarks/bench_train.py``, DoS 0.12 m, ring null):
#: 512 units had 5.7% of units beating the null after 10 minutes and 6.1-6.2%
#: after 20 and 40 (decoding 6.6, 5.8, 5.2 cm; 15.5-16 steps/s); in an earlier
#: measurement 256 units peaked at 4.7% (5 minutes) and fell to 2.7% by 40.
DEFAULT_HIDDEN = 512


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the network.

    Parameters
    ----------
    hidden : int
        Number of recurrent units H.
    outputs : int
        Number of readout units (the encoding's dimension).
    cell : {"rnn", "gru", "lstm"}
        Recurrent cell.
    """

    hidden: int = DEFAULT_HIDDEN
    outputs: int = 512
    cell: str = "rnn"

    def __post_init__(self) -> None:
        for name in ("hidden", "outputs"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.cell not in CELLS:
            raise ValueError(
                f"cell must be one of {', '.join(CELLS)}, got {self.cell!r}"
            )


# Compact CPU defaults (see benchmarks/bench_train.py for how they were chosen).
DEFAULT_STEPS = 12000
DEFAULT_BATCH = 200
DEFAULT_SEQUENCE = 20
DEFAULT_LEARNING_RATE = 3e-3
#: Steps over which the learning rate halves (None: constant).
DEFAULT_LR_HALF_LIFE = None
#: L2 coefficient on W_rec (1 / weight^2 units of the loss).
DEFAULT_WEIGHT_DECAY = 1e-4
#: Compile the targets and the loss (about 1.5x faster steps on CPU).
DEFAULT_COMPILE = True
#: The command line compiles by default only runs of at least this many steps:
#: compiling takes 20-60 s, which about 2000 faster steps repay.
AUTO_COMPILE_MIN_STEPS = 2000
#: Steps trained without the penalty before it is switched on.
DEFAULT_WEIGHT_DECAY_START = 2000


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation, schedules, bookkeeping and hardware of one run.

    Parameters
    ----------
    steps : int
        Total number of optimiser steps.
    batch_size : int
        Walks per step B.
    sequence_length : int
        Input steps per walk T.
    learning_rate : float
        Adam's learning rate at step 0.
    lr_half_life : float, optional
        The learning rate halves every ``lr_half_life`` steps; None keeps it
        constant.
    weight_decay : float
        Coefficient of the penalty ``weight_decay * sum(W_rec^2)``.
    weight_decay_start : int
        The penalty is off before this step (a warm-up), on from it.
    seed : int
        Seed of the walks and the initial weights.
    device : str
        Torch device, e.g. ``"cpu"`` or ``"cuda"``.
    dtype : {"float32", "float64"}
        Floating-point type of weights and activity.
    threads : int, optional
        ``torch.set_num_threads`` for the run (None: leave torch's default).
    log_every : int
        Steps between lines of ``metrics.jsonl``.
    eval_every : int
        Steps between evaluations (0: only at the last step).
    checkpoint_every : int
        Steps between checkpoints (one is also written at the last step).
    compile : bool
        Compile the target computation and the loss with ``torch.compile``
        (a one-off cost of tens of seconds; the network itself stays eager).
    """

    steps: int = DEFAULT_STEPS
    batch_size: int = DEFAULT_BATCH
    sequence_length: int = DEFAULT_SEQUENCE
    learning_rate: float = DEFAULT_LEARNING_RATE
    lr_half_life: float | None = DEFAULT_LR_HALF_LIFE
    weight_decay: float = DEFAULT_WEIGHT_DECAY
    weight_decay_start: int = DEFAULT_WEIGHT_DECAY_START
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"
    threads: int | None = None
    log_every: int = 10
    eval_every: int = 0
    checkpoint_every: int = 500
    compile: bool = DEFAULT_COMPILE

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "sequence_length", "log_every"):
            _check_integer(name, getattr(self, name), minimum=1)
        for name in ("weight_decay_start", "eval_every", "checkpoint_every", "seed"):
            _check_integer(name, getattr(self, name), minimum=0)
        if self.threads is not None:
            _check_integer("threads", self.threads, minimum=1)
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(
                f"learning_rate must be a positive number, got {self.learning_rate!r}"
            )
        if self.lr_half_life is not None and not (
            math.isfinite(self.lr_half_life) and self.lr_half_life > 0
        ):
            raise ValueError(
                f"lr_half_life must be a positive number of steps or None, "
                f"got {self.lr_half_life!r}"
            )
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if self.dtype not in DTYPES:
            raise ValueError(
                f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}"
            )

    def learning_rate_at(self, step: int) -> float:
        """Learning rate used by the update that follows ``step`` steps."""
        if self.lr_half_life is None:
            return self.learning_rate
        return self.learning_rate * 0.5 ** (step / self.lr_half_life)

    def weight_decay_at(self, step: int) -> float:
        """Penalty coefficient of the update that follows ``step`` steps."""
        return self.weight_decay if step >= self.weight_decay_start else 0.0


def _check_integer(name: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value!r}")
