"""Training loop for path-integrating networks, with checkpoints and exact resume.

The loop draws a fresh batch of walks every step, computes its targets with
the encoding's one definition (:meth:`theory.encodings.Encoding.targets`, run
on torch tensors), and minimises the encoding's loss plus an L2 penalty on the
recurrent weights with Adam. It knows nothing of scoring: the caller passes an
evaluation callback, called at intervals with an :class:`EvalContext`, whose
returned metrics join that step's line of ``metrics.jsonl``.

Every random draw comes from streams derived from one seed (numpy for the
walks, torch for the initial weights), and a checkpoint holds the model, the
optimiser, every generator state and the step, so a resumed run continues to
exactly (bit for bit, on the same device and thread count) what an
uninterrupted run gives. The learning rate and the penalty follow schedules
that depend on the step alone, never on the planned number of steps, so
extending a finished run is the same as having run longer.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from simulate.config import ModelConfig, TrainConfig
from simulate.decoding import torch_cells
from simulate.files import atomic_open, jsonable, write_bytes
from simulate.machine import keep_freed_memory
from simulate.model import LOSSES, PathIntegrator, step_flops
from simulate.trajectories import WalkConfig, random_walk
from theory.cells import PlaceCells
from theory.encodings import Encoding

logger = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"
#: Version of the checkpoint layout.
CHECKPOINT_FORMAT = 1
#: Dynamo's warning about array-api-compat's cached namespace lookup (harmless:
#: the lookup depends only on the array type).
_LRU_CACHE_WARNING = "Dynamo detected a call to a `functools.lru_cache`"
TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class EvalContext:
    """What an evaluation callback receives.

    Attributes
    ----------
    step : int
        Optimiser steps done.
    model : PathIntegrator
        The network (do not train it; it is returned to training mode after).
    encoding : Encoding
        The target encoding.
    cells : PlaceCells
        The place-cell population (numpy arrays).
    walk : WalkConfig
        The environment of the run.
    run_dir : Path or None
        The run directory, if the run has one.
    final : bool
        Whether this is the run's last evaluation (its last step, or an early
        stop); only then should a callback write the run's result files.
    """

    step: int
    model: PathIntegrator
    encoding: Encoding
    cells: PlaceCells
    walk: WalkConfig
    run_dir: Path | None
    final: bool = False


#: An evaluation callback returns JSON-ready metrics for ``metrics.jsonl``.
Evaluate = Callable[[EvalContext], dict[str, Any]]


def seed_streams(seed: int) -> dict[str, np.random.SeedSequence]:
    """Independent seed sequences of a run: place cells, walks, weights."""
    cells, walks, weights = np.random.SeedSequence(seed).spawn(3)
    return {"cells": cells, "walks": walks, "weights": weights}


def draw_run_cells(encoding: Encoding, seed: int) -> PlaceCells:
    """The place-cell population of the run with this seed."""
    return encoding.draw_cells(np.random.default_rng(seed_streams(seed)["cells"]))


class Trainer:
    """One training run: model, optimiser, random streams and bookkeeping.

    Parameters
    ----------
    encoding : Encoding
        The target encoding (its box is the environment's box).
    cells : PlaceCells
        The place-cell population (numpy arrays), e.g. from
        :func:`draw_run_cells`.
    model_config : ModelConfig
        Shape of the network; ``outputs`` must equal ``encoding.n_outputs``.
    config : TrainConfig
        Optimisation and bookkeeping.
    run_dir : path, optional
        Where ``metrics.jsonl`` and ``checkpoint.pt`` go (None: nowhere).
    """

    def __init__(
        self,
        encoding: Encoding,
        cells: PlaceCells,
        model_config: ModelConfig,
        config: TrainConfig,
        *,
        run_dir: str | os.PathLike | None = None,
    ) -> None:
        if model_config.outputs != encoding.n_outputs:
            raise ValueError(
                f"model outputs ({model_config.outputs}) must equal the encoding's "
                f"dimension ({encoding.n_outputs})"
            )
        if config.threads is not None:
            torch.set_num_threads(config.threads)
        if config.device == "cpu":
            # Subnormal floats (tiny targets of far cells, their products)
            # take a slow path on x86 CPUs: 5x slower softmaxes. Flushing
            # them to zero changes nothing measurable (below 1e-38).
            torch.set_flush_denormal(True)
            keep_freed_memory()  # no page faults for each step's tensors
        self.encoding = encoding
        self.cells = cells
        self.model_config = model_config
        self.config = config
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.walk = WalkConfig(
            box_width=encoding.box_width,
            box_height=encoding.box_height_m,
            periodic=encoding.periodic,
        )
        self.device = torch.device(config.device)
        self.dtype = TORCH_DTYPES[config.dtype]
        self.population = torch_cells(cells, dtype=self.dtype, device=self.device)
        self.loss_function = LOSSES[encoding.loss]

        streams = seed_streams(config.seed)
        self.rng = np.random.default_rng(streams["walks"])
        init_seed = int(streams["weights"].generate_state(1, dtype=np.uint64)[0])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(init_seed)
            self.model = PathIntegrator(model_config)
        self.model.to(device=self.device, dtype=self.dtype)
        # One fused kernel for the whole update (3x faster than the loop
        # over parameters on CPU); same arithmetic, same state layout.
        self.optimizer = torch.optim.Adam(
            self.model.parameters(),
            lr=config.learning_rate,
            fused=self.device.type in ("cpu", "cuda"),
        )
        self._encode = self._eager_targets
        if config.compile:
            # The targets and the loss are long chains of elementwise work that
            # inductor fuses (about 2.5x faster on CPU); nn.RNN stays eager.
            warnings.filterwarnings("ignore", message=_LRU_CACHE_WARNING)
            self._encode = CompiledOrEager(self._eager_targets)
            self.loss_function = CompiledOrEager(self.loss_function)
        self.step = 0
        self.train_seconds = 0.0

    # -- one step -----------------------------------------------------------

    def targets(self, positions) -> torch.Tensor:
        """The training targets at ``positions`` (m), shape (..., 2) -> (..., N).

        The encoding's one definition, evaluated on torch tensors of the run's
        dtype and device: exactly what the network is trained on.
        """
        positions = torch.as_tensor(positions, dtype=self.dtype, device=self.device)
        return self._encode(positions)

    def _eager_targets(self, positions: torch.Tensor) -> torch.Tensor:
        return self.encoding.targets(positions, self.population)

    def batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A fresh batch, time-major.

        Returns velocities (T, B, 2), p(x_0) (B, N) and targets (T, B, N).
        """
        config = self.config
        walks = random_walk(
            config.batch_size, config.sequence_length, config=self.walk, rng=self.rng
        )
        # Positions (T + 1, B, 2) stored by coordinate, (2, T + 1, B): the
        # compiled targets then read each coordinate contiguously (1.5x faster).
        planar = np.empty((2, config.sequence_length + 1, config.batch_size))
        planar[:, 0] = walks.initial_positions.T
        planar[:, 1:] = walks.positions.transpose(2, 1, 0)
        positions = torch.as_tensor(planar, dtype=self.dtype, device=self.device)
        codes = self.targets(positions.permute(1, 2, 0))  # (T + 1, B, N)
        velocities = torch.as_tensor(
            np.ascontiguousarray(walks.velocities.swapaxes(0, 1)),
            dtype=self.dtype,
            device=self.device,
        )
        return velocities, codes[0], codes[1:]

    def train_step(self) -> tuple[torch.Tensor, torch.Tensor]:
        """One Adam step on a fresh batch; returns (total loss, task loss)."""
        started = time.perf_counter()
        learning_rate = self.config.learning_rate_at(self.step)
        weight_decay = self.config.weight_decay_at(self.step)
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate

        velocities, initial_code, targets = self.batch()
        outputs = self.model(velocities, initial_code, time_major=True)  # (T, B, N)
        task_loss = self.loss_function(outputs, targets)
        loss = task_loss
        if weight_decay > 0:
            loss = loss + weight_decay * torch.sum(self.model.recurrent_weight**2)

        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)  # honest step times
        self.step += 1
        self.train_seconds += time.perf_counter() - started
        return loss.detach(), task_loss.detach()

    # -- the loop -----------------------------------------------------------

    def run(
        self,
        *,
        evaluate: Evaluate | None = None,
        progress: bool = True,
        stop: Callable[[int], bool] | None = None,
    ) -> dict[str, Any]:
        """Train up to ``config.steps`` steps, logging, evaluating, checkpointing.

        Parameters
        ----------
        evaluate : callable, optional
            Called with an :class:`EvalContext` every ``eval_every`` steps and
            at the last step; its metrics join that step's metrics line.
        progress : bool
            Show a progress bar on stderr.
        stop : callable, optional
            ``stop(step)`` returning True ends the loop early after that step
            (after its logging and checkpoint), e.g. for a time budget.

        Returns
        -------
        dict
            The last metrics line written.
        """
        config = self.config
        last: dict[str, Any] = {"step": self.step}
        total = torch.zeros((), dtype=self.dtype, device=self.device)
        task_total = torch.zeros_like(total)
        interval_steps = 0
        with tqdm(
            total=config.steps,
            initial=self.step,
            file=sys.stderr,
            disable=not progress,
            desc="train",
            unit="step",
            dynamic_ncols=True,
        ) as bar:
            while self.step < config.steps:
                loss, task_loss = self.train_step()
                total += loss
                task_total += task_loss
                interval_steps += 1
                bar.update(1)

                final = self.step >= config.steps
                stopping = final or (stop is not None and stop(self.step))
                evaluating = evaluate is not None and (
                    stopping
                    or (config.eval_every and self.step % config.eval_every == 0)
                )
                if stopping or evaluating or self.step % config.log_every == 0:
                    last = {
                        "step": self.step,
                        "loss": (total / interval_steps).item(),
                        "task_loss": (task_total / interval_steps).item(),
                        "learning_rate": config.learning_rate_at(self.step - 1),
                        "weight_decay": config.weight_decay_at(self.step - 1),
                        "train_seconds": self.train_seconds,
                    }
                    total.zero_()
                    task_total.zero_()
                    interval_steps = 0
                    bar.set_postfix(loss=f"{last['loss']:.4g}")
                    if evaluating:
                        last.update(self.evaluate(evaluate, final=stopping))
                    self._log(last)
                if stopping or (
                    config.checkpoint_every and self.step % config.checkpoint_every == 0
                ):
                    self.save_checkpoint()
                if stopping:
                    break
        return last

    def evaluate(self, evaluate: Evaluate, *, final: bool = False) -> dict[str, Any]:
        """Call ``evaluate`` on the current network; adds ``eval_seconds``."""
        started = time.perf_counter()
        context = EvalContext(
            step=self.step,
            model=self.model,
            encoding=self.encoding,
            cells=self.cells,
            walk=self.walk,
            run_dir=self.run_dir,
            final=final,
        )
        metrics = dict(evaluate(context))
        self.model.train()
        metrics["eval_seconds"] = time.perf_counter() - started
        return metrics

    def _log(self, line: dict[str, Any]) -> None:
        if self.run_dir is None:
            return
        with open(self.run_dir / METRICS, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(jsonable(line), allow_nan=False) + "\n")

    # -- checkpoints ----------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything that determines the rest of the run."""
        return {
            "format": CHECKPOINT_FORMAT,
            "step": self.step,
            "train_seconds": self.train_seconds,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "walk_rng": self.rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "model_config": dataclasses.asdict(self.model_config),
            "train_config": dataclasses.asdict(self.config),
        }

    def save_checkpoint(self, path: str | os.PathLike | None = None) -> Path | None:
        """Write the state atomically (default: ``run_dir/checkpoint.pt``)."""
        if path is None:
            if self.run_dir is None:
                return None
            path = self.run_dir / CHECKPOINT
        buffer = io.BytesIO()
        torch.save(self.state_dict(), buffer)
        write_bytes(path, buffer.getvalue())
        return Path(path)

    def load_checkpoint(self, path: str | os.PathLike | None = None) -> None:
        """Restore a checkpoint of this run (same model, same seed).

        Raises
        ------
        ValueError
            If the file is missing, unreadable, or from a different run
            (another model shape, optimisation setting or compile choice; a
            different number of steps, intervals, device or thread count is
            allowed, though only the same device and thread count give
            bit-identical results).
        """
        path = Path(self.run_dir / CHECKPOINT if path is None else path)
        state = read_checkpoint(path)
        saved_model = state.get("model_config")
        if saved_model != dataclasses.asdict(self.model_config):
            raise ValueError(f"checkpoint {path} holds another model: {saved_model}")
        saved = dict(state.get("train_config", {}))
        mine = dataclasses.asdict(self.config)
        for key in _RESUMABLE:
            saved.pop(key, None)
            mine.pop(key, None)
        if saved != mine:
            changed = sorted(k for k in mine if saved.get(k, object()) != mine[k])
            raise ValueError(
                f"checkpoint {path} was trained with other settings: "
                f"{', '.join(changed)}"
            )
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.rng.bit_generator.state = state["walk_rng"]
            torch.set_rng_state(state["torch_rng"])
            self.step = int(state["step"])
            self.train_seconds = float(state.get("train_seconds", 0.0))
        except (KeyError, RuntimeError, TypeError, ValueError) as exc:
            raise ValueError(f"checkpoint {path} is corrupt: {exc}") from None
        self._truncate_metrics()
        logger.info("resumed %s at step %d", path, self.step)

    def _truncate_metrics(self) -> None:
        """Drop metrics lines written after the checkpoint (a killed run's)."""
        if self.run_dir is None or not (self.run_dir / METRICS).exists():
            return
        kept = []
        with open(self.run_dir / METRICS, encoding="utf-8") as stream:
            for line in stream:
                try:
                    if json.loads(line)["step"] <= self.step:
                        kept.append(line)
                except (ValueError, KeyError, TypeError):
                    break  # a torn last line
        with atomic_open(self.run_dir / METRICS, "w") as stream:
            stream.writelines(kept)

    # -- measurements -----------------------------------------------------------

    def flops_per_step(self) -> float:
        """Matrix-multiply FLOPs of one training step (forward and backward)."""
        return step_flops(
            self.model_config,
            batch_size=self.config.batch_size,
            sequence_length=self.config.sequence_length,
        )


#: Settings that may differ between a checkpoint and the run resuming it.
_RESUMABLE = (
    "steps",
    "log_every",
    "eval_every",
    "checkpoint_every",
    "threads",
    "device",
)


class CompiledOrEager:
    """``torch.compile(function)``, falling back to ``function`` if it fails.

    Compilation happens at the first call and needs a working backend (a C++
    compiler on CPU); where there is none, the run continues eagerly with a
    warning rather than ending.
    """

    def __init__(self, function: Callable) -> None:
        self.function = function
        self.compiled = torch.compile(function, dynamic=False)
        self.failed = False

    def __call__(self, *args: Any) -> Any:
        if not self.failed:
            try:
                return self.compiled(*args)
            except Exception as exc:  # any backend failure: no compiler, no kernel
                self.failed = True
                logger.warning(
                    "torch.compile failed, running eagerly: %s",
                    str(exc).splitlines()[0] if str(exc) else repr(exc),
                )
        return self.function(*args)


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint's state, or raise ValueError saying what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise ValueError(f"checkpoint {path} is corrupt: {exc}") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"checkpoint {path} is not a turing-grids checkpoint")
    return state
