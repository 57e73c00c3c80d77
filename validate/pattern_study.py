"""Pattern dynamics measured against theory: one point, a width sweep, the torus.

Each function runs :func:`simulate.pattern.run_pattern`, scores the maps with
:func:`validate.scores.score_maps` (60-degree score in the min/max form,
Pearson autocorrelogram, period from the six nearest peaks) and sets the
measured grid period beside the predicted one.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from simulate.pattern import check_resolution, resolve_bins, run_pattern
from theory.box import best_triad
from theory.encodings import Encoding
from theory.prediction import predict
from validate.scores import score_maps


def measure_pattern(encoding: Encoding, **options) -> dict:
    """Run the dynamics for ``encoding`` and compare with the prediction.

    Parameters
    ----------
    encoding : Encoding
        The target encoding.
    **options
        Passed to :func:`simulate.pattern.run_pattern` (``units``, ``bins``,
        ``seed``, ``nonnegative``, ``operator``, ...).

    Returns
    -------
    dict
        ``grid_score`` and ``grid_period`` (medians over units; m),
        ``predicted_grid_period`` (m), ``period_ratio`` (measured / predicted),
        ``seconds``, ``iterations``, ``converged``, per-unit ``units`` and the
        maps' ``scores`` arrays (under ``_maps`` and ``_scores``, for plots).
    """
    prediction = predict(encoding, fft=False)
    shape = resolve_bins(encoding, options.pop("bins", None))
    check_resolution(
        shape, encoding.box_width, encoding.box_height_m, prediction.grid_period
    )
    result = run_pattern(encoding, bins=shape, **options)
    scores = score_maps(
        result.maps, box_width=result.box_width, box_height=result.box_height
    )
    score = _median(scores["score_60"])
    period = _median(scores["grid_period"])
    predicted = prediction.grid_period
    units = [
        {
            "score_60": scores["score_60"][i],
            "score_90": scores["score_90"][i],
            "grid_period": scores["grid_period"][i],
            "orientation": scores["orientation"][i],
        }
        for i in range(result.maps.shape[0])
    ]
    return {
        "encoding": encoding.name,
        "width": encoding.width,
        "surround_scale": encoding.surround_scale if encoding.is_difference else None,
        "convention": encoding.convention,
        "periodic": encoding.periodic,
        "bins": list(shape),
        "grid_score": score,
        "grid_period": period,
        "predicted_grid_period": predicted,
        "predicted_wavenumber": prediction.wavenumber,
        "period_ratio": period / predicted if np.isfinite(predicted) else float("nan"),
        "score_form": "minmax",
        "seconds": result.seconds,
        "iterations": result.iterations,
        "converged": result.converged,
        "units": units,
        "_maps": result.maps,
        "_scores": scores,
    }


def width_sweep(
    widths,
    *,
    conventions=("paper", "sorscher"),
    surround_scale: float = 2.0,
    units: int = 8,
    seed: int = 0,
    periodic: bool = False,
) -> list[dict]:
    """Measured vs predicted grid period of DoS pattern dynamics across widths."""
    rows = []
    for convention in conventions:
        for width in widths:
            encoding = Encoding(
                "dos",
                width=float(width),
                surround_scale=surround_scale,
                convention=convention,
                periodic=periodic,
            )
            row = measure_pattern(encoding, units=units, seed=seed)
            for key in ("units", "_maps", "_scores"):
                row.pop(key)
            rows.append(row)
    return rows


def torus_study(widths=(0.11, 0.12, 0.13), *, seeds=(0, 1, 2), units: int = 8) -> list:
    """DoS on a periodic box: how the torus's allowed wavevectors bend the lattice.

    For each width and seed: the measured score and period, and the best
    zero-sum triad of allowed wavevectors (its length detuning from k* and
    its angle error from 120 degrees).
    """
    rows = []
    for width in widths:
        encoding = Encoding("dos", width=float(width), periodic=True)
        prediction = predict(encoding, fft=False)
        triad = best_triad(
            prediction.wavenumber, encoding.box_width, encoding.box_height_m
        )
        for seed in seeds:
            row = measure_pattern(replace(encoding), units=units, seed=seed)
            rows.append(
                {
                    "width": width,
                    "seed": seed,
                    "grid_score": row["grid_score"],
                    "grid_period": row["grid_period"],
                    "predicted_grid_period": row["predicted_grid_period"],
                    "period_ratio": row["period_ratio"],
                    "fraction_above_0.3": float(
                        np.mean(row["_scores"]["score_60"] > 0.3)
                    ),
                    "triad_modes": triad.integers.tolist(),
                    "triad_max_detuning": float(np.max(np.abs(triad.detuning))),
                    "triad_angle_error": triad.angle_error,
                }
            )
    return rows


def _median(values) -> float:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else float("nan")
