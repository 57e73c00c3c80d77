"""The evaluation a training run is given: decoding, rate maps, grid scores.

:class:`GridEvaluation` is the callback the ``train`` command hands the
trainer (:mod:`simulate.trainer` knows nothing of scoring). At each call it
runs the network along fixed, seeded evaluation walks, measures the top-3
decoding error, bins every hidden unit's activity into rate maps, scores them
(:func:`validate.scores.score_maps`), optionally writes ``ratemaps.npz`` and
``scores.json`` into the run directory, and returns summary metrics for
``metrics.jsonl``.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simulate.activity import EVAL_STEPS, EVAL_WALKS, record_activity
from simulate.files import write_json, write_npz
from validate.ratemaps import DEFAULT_BINS, compute_ratemaps
from validate.scores import DEFAULT_FORM, score_maps

logger = logging.getLogger(__name__)

RATEMAPS = "ratemaps.npz"
SCORES = "scores.json"
#: The paper's 60-degree thresholds (0.8: "possible grid cells").
SCORE_THRESHOLDS = (0.3, 0.8)
#: Seed of the evaluation walks (fixed: every evaluation sees the same walks).
EVAL_SEED = 20221128
#: Null samples per map when null calibration is available.
NULL_SAMPLES = 100


@dataclass(frozen=True)
class GridEvaluation:
    """Evaluation callback: decoding error, rate maps and grid scores.

    Parameters
    ----------
    walks, steps : int
        Number and length (input steps) of the evaluation walks.
    seed : int
        Seed of the evaluation walks.
    bins : int
        Rate-map bins per side (44: 5 cm bins in the 2.2 m box).
    form : {"minmax", "mean"}
        Form of the 60-degree score.
    write : bool
        Write ``ratemaps.npz`` and ``scores.json`` into the run directory.
    null_samples : int
        Samples per map of the null calibration
        (``validate.nulls.calibrate``, used where available); 0 skips it.
    """

    walks: int = EVAL_WALKS
    steps: int = EVAL_STEPS
    seed: int = EVAL_SEED
    bins: int = DEFAULT_BINS
    form: str = DEFAULT_FORM
    write: bool = True
    null_samples: int = 0

    def __call__(self, context) -> dict[str, Any]:
        """Evaluate ``context.model`` (a :class:`simulate.trainer.EvalContext`)."""
        encoding = context.encoding
        activity = record_activity(
            context.model,
            encoding,
            context.cells,
            walk=context.walk,
            walks=self.walks,
            steps=self.steps,
            seed=self.seed,
        )
        box = {"box_width": context.walk.box_width, "box_height": context.walk.height}
        ratemaps = compute_ratemaps(
            activity.positions, activity.hidden, bins=self.bins, **box
        )
        scores = score_maps(ratemaps, form=self.form, **box)
        summary = summarise_scores(scores)
        summary["decoding_error"] = (
            activity.decoding_error if np.isfinite(activity.decoding_error) else None
        )
        nulls = self._calibrate(ratemaps, box)
        if nulls is not None:
            summary.update(nulls["summary"])

        if self.write and context.run_dir is not None:
            run_dir = Path(context.run_dir)
            write_npz(
                run_dir / RATEMAPS,
                ratemaps=ratemaps.astype(np.float32),
                **{key: np.float64(value) for key, value in box.items()},
            )
            write_json(
                run_dir / SCORES,
                {
                    "step": context.step,
                    **box,
                    "bins": list(ratemaps.shape[1:]),
                    "form": self.form,
                    **summary,
                    "units": unit_table(scores),
                    "units_of": {
                        "decoding_error": "m",
                        "grid_period": "m",
                        "orientation": "degrees from +x towards +y, folded to [0, 60)",
                    },
                },
            )
        return summary

    def _calibrate(self, ratemaps: np.ndarray, box: dict) -> dict | None:
        if self.null_samples <= 0 or importlib.util.find_spec("validate.nulls") is None:
            return None
        from validate.nulls import calibrate

        result = calibrate(ratemaps, samples=self.null_samples, seed=self.seed, **box)
        beats = np.asarray(result.get("beats_null", []), dtype=bool)
        return {
            "result": result,
            "summary": {
                "fraction_beating_null": float(beats.mean()) if beats.size else None
            },
        }


def summarise_scores(scores: dict[str, np.ndarray]) -> dict[str, Any]:
    """Population summary of a :func:`validate.scores.score_maps` result.

    Undefined scores (dead or constant units) count as below every threshold;
    fractions are of all hidden units.
    """
    score_60 = np.asarray(scores["score_60"], dtype=float)
    defined = np.isfinite(score_60)
    summary: dict[str, Any] = {
        "units": int(score_60.size),
        "undefined_units": int((~defined).sum()),
        "best_score_60": float(score_60[defined].max()) if defined.any() else None,
    }
    for threshold in SCORE_THRESHOLDS:
        above = defined & (np.where(defined, score_60, -np.inf) > threshold)
        summary[f"fraction_score_60_above_{threshold:g}"] = float(above.mean())
    grid_like = defined & (np.where(defined, score_60, -np.inf) > SCORE_THRESHOLDS[0])
    periods = np.asarray(scores["grid_period"], dtype=float)[grid_like]
    periods = periods[np.isfinite(periods)]
    summary["median_grid_period"] = float(np.median(periods)) if periods.size else None
    return summary


def unit_table(scores: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Per-unit scores, period (m) and orientation (degrees) as JSON rows."""
    keys = ("score_60", "score_90", "grid_period", "orientation")
    count = len(scores["score_60"])
    return [
        {"unit": index, **{key: float(scores[key][index]) for key in keys}}
        for index in range(count)
    ]
