"""``turing-grids score FILE.npz``: grid scores, period and orientation per unit.

The input holds ``ratemaps`` (units, ny, nx; rows along y, columns along x,
NaN where unvisited), ``box_width`` and ``box_height`` (m). Maps that are
constant, dead or never visited are not an error: their values are null.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from validate.cli import CommandError, add_json_flag
from validate.nulls import DEFAULT_NULL_SAMPLES, MIN_NULL_SAMPLES, NULLS
from validate.plotting import check_figure_path
from validate.scores import CONVENTIONS, DEFAULT_FORM, FORMS

#: The paper's 60-degree thresholds (0.8: "possible grid cells").
SCORE_THRESHOLDS = (0.3, 0.8, 1.15)

#: Units drawn by ``--plot`` and listed in the text output.
PLOTTED_UNITS = 16
LISTED_UNITS = 40

CM_PER_M = 100.0

#: First bytes of a zip archive (an .npz) and of a single .npy array.
ZIP_MAGIC = b"PK\x03\x04"
NPY_MAGIC = b"\x93NUMPY"


def register(subparsers, parser_class=argparse.ArgumentParser) -> None:
    """Add the ``score`` subcommand."""
    p = subparsers.add_parser(
        "score",
        help="grid scores (60 and 90 degrees), grid period and orientation "
        "of every rate map in an .npz file",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument(
        "file",
        metavar="FILE.npz",
        help="arrays ratemaps (units, ny, nx), box_width, box_height (m)",
    )
    p.add_argument(
        "--form",
        choices=FORMS,
        default=DEFAULT_FORM,
        help="60-degree score: min(c60,c120) - max(c30,c90,c150) (minmax, the "
        "default, as the 2022 paper's code) or the mean of each group (mean)",
    )
    p.add_argument(
        "--plot",
        metavar="FILE",
        help=f"draw the {PLOTTED_UNITS} best rate maps beside their "
        "autocorrelograms and the annulus that gave the score (png, pdf, svg)",
    )
    p.add_argument(
        "--null",
        choices=NULLS,
        help="also test every unit against surrogates of its own map: random "
        "Fourier phases on its spectrum, its fields moved, or noise of its "
        "smoothness (adds p-values, null percentiles and beats_null)",
    )
    p.add_argument(
        "--null-samples",
        type=int,
        default=DEFAULT_NULL_SAMPLES,
        metavar="N",
        help=f"surrogates per unit (default {DEFAULT_NULL_SAMPLES}, at least "
        f"{MIN_NULL_SAMPLES}; 99 or more for p <= 0.01 to be possible)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the surrogates (default 0)"
    )
    add_json_flag(p)
    p.set_defaults(run=run)


def load_ratemaps(path: str | os.PathLike) -> tuple[np.ndarray, float, float]:
    """Rate maps and box size (m) from an .npz file; CommandError if unusable."""
    path = Path(path)
    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    with open(path, "rb") as stream:
        magic = stream.read(len(NPY_MAGIC))
    if magic.startswith(NPY_MAGIC):
        raise CommandError(f"{path} is a single .npy array, not an .npz archive")
    if not magic.startswith(ZIP_MAGIC):
        raise CommandError(f"{path} is not an .npz archive (no zip header)")
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy raises several kinds for broken archives
        raise CommandError(f"{path} is not a readable .npz file ({exc})") from None
    with archive:
        for key in ("ratemaps", "box_width", "box_height"):
            if key not in archive.files:
                raise CommandError(
                    f"{path} has no array {key!r} (it has: "
                    f"{', '.join(archive.files) or 'nothing'})"
                )
        try:
            ratemaps = archive["ratemaps"]
            sides = [archive[key] for key in ("box_width", "box_height")]
        except Exception as exc:
            raise CommandError(f"{path}: cannot read its arrays ({exc})") from None
    if ratemaps.ndim != 3:
        raise CommandError(
            f"{path}: ratemaps must be 3-D (units, ny, nx), got shape {ratemaps.shape}"
        )
    if ratemaps.dtype.kind not in "biuf" or min(ratemaps.shape) < 1:
        raise CommandError(
            f"{path}: ratemaps must be a non-empty real array, got "
            f"{ratemaps.dtype} of shape {ratemaps.shape}"
        )
    if min(ratemaps.shape[1:]) < 2:
        raise CommandError(f"{path}: ratemaps need at least 2 x 2 bins")
    if np.isnan(ratemaps).all():
        # One unvisited unit among others is scored null; a file in which no
        # bin of any map was visited holds nothing to score.
        raise CommandError(f"{path}: every rate map is all NaN (no bin visited)")
    box = []
    for key, side in zip(("box_width", "box_height"), sides, strict=True):
        if side.size != 1 or side.dtype.kind not in "iuf":
            raise CommandError(f"{path}: {key} must be one number (m), got {side!r}")
        value = float(side.reshape(()))
        if not np.isfinite(value) or value <= 0:
            raise CommandError(f"{path}: {key} must be a positive length (m)")
        box.append(value)
    return ratemaps.astype(float), box[0], box[1]


def summarise(score_60: np.ndarray) -> dict:
    """Population summary of 60-degree scores (NaN = undefined)."""
    defined = np.isfinite(score_60)
    return {
        "n_units": int(score_60.size),
        "n_undefined": int((~defined).sum()),
        "n_above": {
            f"{threshold:g}": int((score_60[defined] > threshold).sum())
            for threshold in SCORE_THRESHOLDS
        },
        "max_score_60": float(np.max(score_60[defined])) if defined.any() else None,
        "median_score_60": (
            float(np.median(score_60[defined])) if defined.any() else None
        ),
    }


def run(args):
    """Score every map; returns (result dict, human-readable text)."""
    from validate.nulls import check_samples
    from validate.scores import score_maps

    plot_format = check_figure_path(args.plot).suffix if args.plot else None
    if args.null is not None:
        check_samples(args.null_samples)
    ratemaps, box_width, box_height = load_ratemaps(args.file)
    scores = score_maps(
        ratemaps,
        box_width=box_width,
        box_height=box_height,
        form=args.form,
        return_sac=args.plot is not None,
    )

    units = [
        {
            "unit": index,
            "score_60": scores["score_60"][index],
            "score_90": scores["score_90"][index],
            "grid_period": scores["grid_period"][index],
            "orientation": scores["orientation"][index],
            "annulus_radius_60": scores["annulus_radius_60"][index],
        }
        for index in range(ratemaps.shape[0])
    ]
    result = {
        "file": str(args.file),
        "box_width": box_width,
        "box_height": box_height,
        "bins": list(ratemaps.shape[1:]),
        "form": args.form,
        "units": units,
        **summarise(scores["score_60"]),
        "units_of": {
            "grid_period": "m",
            "orientation": "degrees from +x towards +y, folded to [0, 60)",
            "annulus_radius_60": "m",
        },
        "conventions": CONVENTIONS,
    }
    if args.null is not None:
        _add_null(result, ratemaps, box_width, box_height, args)
    if args.plot:
        _plot(ratemaps, scores, box_width, box_height, args.plot, plot_format)
        result["plot"] = str(args.plot)
    return result, _text(result)


NULL_UNIT_KEYS = (
    "null_p95_60",
    "null_p99_60",
    "p_value_60",
    "null_p95_90",
    "null_p99_90",
    "p_value_90",
    "beats_null",
)
NULL_SUMMARY_KEYS = (
    "null",
    "samples",
    "seed",
    "alpha",
    "n_defined",
    "n_beats_null",
    "fraction_beats_null",
    "fraction_ci",
    "chance_fraction",
    "min_p_value",
    "rule",
)


def _add_null(result, ratemaps, box_width, box_height, args) -> None:
    """Per-unit null statistics and the population summary, in place."""
    from validate.nulls import calibrate

    calibration = calibrate(
        ratemaps,
        box_width=box_width,
        box_height=box_height,
        null=args.null,
        samples=args.null_samples,
        seed=args.seed,
        form=args.form,
    )
    for index, unit in enumerate(result["units"]):
        for key in NULL_UNIT_KEYS:
            value = calibration[key][index]
            unit[key] = bool(value) if key == "beats_null" else float(value)
    result["null_test"] = {key: calibration[key] for key in NULL_SUMMARY_KEYS}


def _text(result: dict) -> str:
    units = result["units"]
    order = sorted(
        range(len(units)),
        key=lambda i: np.inf if _undefined(s := units[i]["score_60"]) else -s,
    )
    lines = [
        f"{result['file']}: {result['n_units']} units, {result['bins'][0]} x "
        f"{result['bins'][1]} bins, box {result['box_width']:g} x "
        f"{result['box_height']:g} m, 60-degree form {result['form']}",
        "  unit  score_60  score_90  period_cm  orientation_deg",
    ]
    shown = order[:LISTED_UNITS]
    for i in shown:
        unit = units[i]
        period = unit["grid_period"] * CM_PER_M
        lines.append(
            f"  {i:4d}  {_fmt(unit['score_60'], '8.3f')}  "
            f"{_fmt(unit['score_90'], '8.3f')}  {_fmt(period, '9.1f')}  "
            f"{_fmt(unit['orientation'], '15.1f')}"
        )
    if len(order) > len(shown):
        lines.append(f"  ... {len(order) - len(shown)} more (use --json for all)")
    above = ", ".join(f"> {k}: {v}" for k, v in result["n_above"].items())
    lines.append(
        f"score_60 {above}; undefined: {result['n_undefined']} "
        "(NaN-aware Pearson SAC; scores from other toolkits are not comparable)"
    )
    if "null_test" in result:
        test = result["null_test"]
        low, high = test["fraction_ci"]
        interval = "" if _undefined(low) else f" (95% CI {low:.3f}-{high:.3f})"
        fraction = test["fraction_beats_null"]
        lines.append(
            f"null {test['null']} ({test['samples']} surrogates per unit, seed "
            f"{test['seed']}): {test['n_beats_null']} of {test['n_defined']} units "
            f"beat it at p <= {test['alpha']:g}, fraction "
            f"{_fmt(fraction, '.3f').strip()}{interval}; chance rate "
            f"{test['chance_fraction']:.4f}"
        )
    if "plot" in result:
        lines.append(f"plot written to {result['plot']}")
    return "\n".join(lines)


def _undefined(value) -> bool:
    return value is None or not np.isfinite(value)


def _fmt(value, spec: str) -> str:
    width = int(spec.split(".")[0] or 0)
    return "null".rjust(width) if _undefined(value) else format(value, spec)


def _plot(ratemaps, scores, box_width, box_height, path, plot_format) -> None:
    """Best maps by 60-degree score beside their SACs; written atomically."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle

    from validate.plotting import save_figure
    from validate.scores import ANNULUS_INNER_FRACTION

    score = scores["score_60"]
    order = np.argsort(np.where(np.isfinite(score), -score, np.inf), kind="stable")
    order = order[:PLOTTED_UNITS]
    columns = 4  # two units (map + SAC) per row
    rows = max(1, int(np.ceil(len(order) / 2)))
    figure = Figure(figsize=(2.2 * columns, 2.2 * rows), layout="constrained")
    side = min(box_width, box_height)
    map_extent = [
        -box_width / 2 * CM_PER_M,
        box_width / 2 * CM_PER_M,
        -box_height / 2 * CM_PER_M,
        box_height / 2 * CM_PER_M,
    ]
    ny, nx = ratemaps.shape[1:]
    lag_y = (ny - 1) * box_height / ny * CM_PER_M
    lag_x = (nx - 1) * box_width / nx * CM_PER_M
    sac_extent = [-lag_x, lag_x, -lag_y, lag_y]
    for k, unit in enumerate(order):
        ax_map = figure.add_subplot(rows, columns, 2 * k + 1)
        ax_sac = figure.add_subplot(rows, columns, 2 * k + 2)
        ax_map.imshow(ratemaps[unit], origin="lower", extent=map_extent, cmap="viridis")
        ax_map.set_title(f"unit {unit}: {score[unit]:.2f}", fontsize=8)
        ax_sac.imshow(
            scores["sac"][unit],
            origin="lower",
            extent=sac_extent,
            cmap="RdBu_r",
            vmin=-1,
            vmax=1,
        )
        outer = scores["annulus_radius_60"][unit]
        if np.isfinite(outer):
            for radius in (ANNULUS_INNER_FRACTION * side, outer):
                ax_sac.add_patch(
                    Circle((0, 0), radius * CM_PER_M, fill=False, color="k", lw=0.8)
                )
        period = scores["grid_period"][unit]
        ax_sac.set_title(
            "SAC"
            + (f", period {period * CM_PER_M:.0f} cm" if np.isfinite(period) else ""),
            fontsize=8,
        )
        for ax in (ax_map, ax_sac):
            ax.tick_params(labelsize=6)
    figure.supxlabel(
        "x (cm); maps sorted by 60-degree score, annulus of the score", fontsize=8
    )
    save_figure(figure, path, tight=False)
