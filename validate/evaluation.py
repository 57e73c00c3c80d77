"""The evaluation a training run is given: decoding, rate maps, grid scores.

:class:`GridEvaluation` is the callback the ``train`` command hands the
trainer (:mod:`simulate.trainer` knows nothing of scoring). At each call it
runs the network along fixed, seeded evaluation walks, measures the top-3
decoding error, bins every hidden unit's activity into rate maps, scores them
(:func:`validate.scores.score_maps`), and returns summary metrics for
``metrics.jsonl``. At the run's final evaluation it can also calibrate every
unit against a null model of its own map (:func:`validate.nulls.calibrate`)
and write ``ratemaps.npz`` and then ``scores.json`` into the run directory:
``scores.json`` is written last because sweeps take it as the mark of a
finished run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simulate.activity import EVAL_STEPS, EVAL_WALKS, record_activity
from simulate.files import write_json, write_npz
from validate.nulls import DEFAULT_NULL, calibrate
from validate.ratemaps import DEFAULT_BINS, compute_ratemaps
from validate.scores import DEFAULT_FORM, score_maps
from validate.statistics import wilson_interval

logger = logging.getLogger(__name__)

RATEMAPS = "ratemaps.npz"
SCORES = "scores.json"
#: The paper's 60-degree thresholds (0.8: "possible grid cells").
SCORE_THRESHOLDS = (0.3, 0.8)
#: Seed of the evaluation walks (fixed: every evaluation sees the same walks).
EVAL_SEED = 20221128
#: Hidden units binned at once (bounds the float64 copy of their activity).
UNIT_CHUNK = 512
#: Surrogate maps per unit of the final evaluation's null calibration.
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
        At the final evaluation, write ``ratemaps.npz`` and ``scores.json``
        into the run directory.
    null : {"ring", "spectrum", "fields", "noise"}
        Null model of the calibration (:func:`validate.nulls.calibrate`).
    null_samples : int
        Surrogates per unit; 0 skips the calibration.
    null_every_time : bool
        Calibrate at every evaluation, not only at the final one (costly).
    """

    walks: int = EVAL_WALKS
    steps: int = EVAL_STEPS
    seed: int = EVAL_SEED
    bins: int = DEFAULT_BINS
    form: str = DEFAULT_FORM
    write: bool = True
    null: str = DEFAULT_NULL
    null_samples: int = NULL_SAMPLES
    null_every_time: bool = False

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
        # Units in chunks: compute_ratemaps works in float64 on all samples.
        ratemaps = np.concatenate(
            [
                compute_ratemaps(
                    activity.positions,
                    activity.hidden[:, start : start + UNIT_CHUNK],
                    bins=self.bins,
                    **box,
                )
                for start in range(0, activity.hidden.shape[1], UNIT_CHUNK)
            ]
        )
        scores = score_maps(ratemaps, form=self.form, **box)
        summary = summarise_scores(scores)
        summary["decoding_error"] = (
            activity.decoding_error if np.isfinite(activity.decoding_error) else None
        )
        calibrated = None
        if self.null_samples > 0 and (context.final or self.null_every_time):
            calibrated = calibrate(
                ratemaps,
                null=self.null,
                samples=self.null_samples,
                seed=self.seed,
                form=self.form,
                **box,
            )
            summary.update(summarise_null(calibrated))

        if self.write and context.final and context.run_dir is not None:
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
                    "units": unit_table(scores, calibrated),
                    "units_of": {
                        "decoding_error": "m",
                        "median_grid_period": "m",
                        "grid_period": "m",
                        "orientation": "degrees from +x towards +y, folded to [0, 60)",
                    },
                },
            )
        return summary


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


def summarise_null(calibrated: dict[str, Any]) -> dict[str, Any]:
    """Population summary of a :func:`validate.nulls.calibrate` result.

    ``fraction_beating_null`` is over all hidden units (a unit with an
    undefined score, e.g. a dead one, does not beat the null), and so is its
    Wilson 95% interval ``fraction_beating_null_ci`` (calibrate's own
    interval is over the units with a defined score).
    """
    beats = np.asarray(calibrated["beats_null"], dtype=bool)
    return {
        "null": calibrated["null"],
        "null_samples": int(calibrated["samples"]),
        "fraction_beating_null": float(beats.mean()) if beats.size else None,
        "fraction_beating_null_ci": [
            float(v) for v in wilson_interval(int(beats.sum()), beats.size)
        ],
        "null_chance_fraction": float(calibrated["chance_fraction"]),
    }


def unit_table(
    scores: dict[str, np.ndarray], calibrated: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Per-unit scores, period (m), orientation (degrees), null calls."""
    keys = ("score_60", "score_90", "grid_period", "orientation")
    null_keys = ("null_p99_60", "p_value_60", "beats_null")
    rows = []
    for index in range(len(scores["score_60"])):
        row = {"unit": index, **{key: float(scores[key][index]) for key in keys}}
        if calibrated is not None:
            for key in null_keys:
                value = calibrated[key][index]
                row[key] = bool(value) if key == "beats_null" else float(value)
        rows.append(row)
    return rows
