"""``turing-grids modules PATH...``: grid modules of a population of units.

Each PATH is a rate-map ``.npz`` (``ratemaps`` (units, ny, nx), ``box_width``,
``box_height`` in m), a run directory holding ``ratemaps.npz``, or a sweep
directory of run directories. Every map is scored; the units passing the grid
call (a null-calibrated test, or a 60-degree score threshold) give grid
periods and orientations, from which the modules are estimated per input and
pooled over all inputs: the number of modules (BIC over Gaussian mixtures in
log period, and Hartigan's dip test), each module's period and orientation,
and the ratios of consecutive module periods with bootstrap intervals.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from validate.cli import CommandError, add_json_flag
from validate.nulls import DEFAULT_NULL, DEFAULT_NULL_SAMPLES, NULLS

RATEMAP_FILE = "ratemaps.npz"

#: The library's default number of bootstrap replicates, as the help shows it
#: (validate.modules is imported only when the command runs).
BOOTSTRAP_HELP_DEFAULT = 1000

CM_PER_M = 100.0

#: Histogram bins per factor e of period in the plot.
PLOT_BINS_PER_LOG_UNIT = 20


def register(subparsers, parser_class=argparse.ArgumentParser) -> None:
    """Add the ``modules`` subcommand."""
    p = subparsers.add_parser(
        "modules",
        help="number of grid modules, their periods, orientations and period "
        "ratios, from rate maps of one run, a sweep or an .npz",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument(
        "paths",
        metavar="PATH",
        nargs="+",
        help="rate-map .npz, run directory (with ratemaps.npz) or sweep "
        "directory (of run directories)",
    )
    call = p.add_mutually_exclusive_group()
    call.add_argument(
        "--threshold",
        type=float,
        metavar="X",
        help="grid units are those with a 60-degree score above X (min/max form)",
    )
    call.add_argument(
        "--null",
        choices=NULLS,
        help="grid units are those whose 60-degree score beats this null "
        "model of their own map (validate.nulls); the default is "
        f"{DEFAULT_NULL}. It scores --null-samples surrogate maps per unit, "
        "which takes minutes for a few hundred maps; --threshold is instant",
    )
    p.add_argument(
        "--null-samples",
        type=int,
        default=DEFAULT_NULL_SAMPLES,
        metavar="N",
        help=f"surrogate maps per unit for the null (default {DEFAULT_NULL_SAMPLES})",
    )
    p.add_argument(
        "--orientation",
        action="store_true",
        help="model orientation (period 60 degrees) beside log period",
    )
    p.add_argument(
        "--bootstrap",
        type=int,
        metavar="N",
        help="bootstrap replicates for the intervals, 0 to skip them (default "
        f"{BOOTSTRAP_HELP_DEFAULT})",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of every random step")
    p.add_argument(
        "--plot",
        metavar="FILE",
        help="draw the period distribution and a period-orientation scatter "
        "coloured by module (png, pdf, svg)",
    )
    add_json_flag(p)
    p.set_defaults(run=run)


def find_ratemap_files(path) -> list[Path]:
    """The rate-map files a PATH stands for; CommandError if there are none.

    A file is taken as it is (its contents are checked when it is read); a
    directory holding ``ratemaps.npz`` is one run; otherwise every
    immediate subdirectory holding one is a run of a sweep, in name order.
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.exists():
        raise CommandError(f"{path}: no such file or directory")
    if not path.is_dir():
        raise CommandError(f"{path} is neither a file nor a directory")
    if (path / RATEMAP_FILE).is_file():
        return [path / RATEMAP_FILE]
    runs = sorted(
        child / RATEMAP_FILE
        for child in path.iterdir()
        if child.is_dir() and (child / RATEMAP_FILE).is_file()
    )
    if not runs:
        raise CommandError(
            f"{path} holds no rate maps: no {RATEMAP_FILE} in it or in its "
            "subdirectories"
        )
    return runs


def grid_call(
    ratemaps, *, box_width, box_height, threshold, null, null_samples, seed
) -> dict:
    """Score every map and decide which units are grid units.

    With ``threshold`` a unit is a grid unit if its 60-degree score (min/max
    form) exceeds it; otherwise if it beats ``null`` in
    :func:`validate.nulls.calibrate` with ``null_samples`` surrogates.

    Returns per-unit ``score_60``, ``grid_period`` (m), ``orientation``
    (degrees) and ``is_grid`` (bool), and ``p_value_60`` and the null
    test's ``alpha`` when a null is used.
    """
    from validate.scores import score_maps

    scores = score_maps(ratemaps, box_width=box_width, box_height=box_height)
    out = {
        "score_60": scores["score_60"],
        "grid_period": scores["grid_period"],
        "orientation": scores["orientation"],
    }
    if threshold is not None:
        with np.errstate(invalid="ignore"):
            out["is_grid"] = np.nan_to_num(scores["score_60"], nan=-np.inf) > threshold
        return out
    from validate.nulls import calibrate

    calibrated = calibrate(
        ratemaps,
        box_width=box_width,
        box_height=box_height,
        null=null,
        samples=null_samples,
        seed=seed,
    )
    out["is_grid"] = np.asarray(calibrated["beats_null"], dtype=bool)
    out["p_value_60"] = np.asarray(calibrated["p_value_60"], dtype=float)
    out["alpha"] = float(calibrated["alpha"])
    return out


def run(args):
    """Estimate modules; returns (result dict, human-readable text)."""
    from validate.commands.score import load_ratemaps
    from validate.modules import DEFAULT_BOOTSTRAP, estimate_modules
    from validate.plotting import check_figure_path

    bootstrap = DEFAULT_BOOTSTRAP if args.bootstrap is None else args.bootstrap
    if bootstrap < 0:
        raise CommandError(f"--bootstrap must be >= 0, got {bootstrap}")
    if args.threshold is not None and not np.isfinite(args.threshold):
        raise CommandError(f"--threshold must be a finite number, got {args.threshold}")
    plot_format = check_figure_path(args.plot).suffix if args.plot else None
    null = None if args.threshold is not None else (args.null or DEFAULT_NULL)
    if null is not None:
        from validate.nulls import check_samples

        check_samples(args.null_samples)
    files = [file for path in args.paths for file in find_ratemap_files(path)]

    def estimate(period, orientation):
        return estimate_modules(
            period,
            orientation,
            use_orientation=args.orientation,
            bootstrap=bootstrap,
            seed=args.seed,
        )

    # Score and call grid units in every input before any estimation, so a
    # bad file fails fast.
    populations = []
    alpha = None
    for file in files:
        ratemaps, box_width, box_height = load_ratemaps(file)
        called = grid_call(
            ratemaps,
            box_width=box_width,
            box_height=box_height,
            threshold=args.threshold,
            null=null,
            null_samples=args.null_samples,
            seed=args.seed,
        )
        grid = np.flatnonzero(called["is_grid"])
        populations.append(
            {
                "path": str(file),
                "box_width": box_width,
                "box_height": box_height,
                "n_units": int(ratemaps.shape[0]),
                "n_grid": int(grid.size),
                "grid_units": grid,
                "score_60": called["score_60"][grid],
                "grid_period": called["grid_period"][grid],
                "orientation": called["orientation"][grid],
            }
        )
        if null is not None:
            populations[-1]["p_value_60"] = called["p_value_60"][grid]
            alpha = called["alpha"]
    if sum(p["n_grid"] for p in populations) == 0:
        how = (
            f"a 60-degree score above {args.threshold:g}"
            if null is None
            else (f"beating the {null} null")
        )
        raise CommandError(f"no unit passes the grid call ({how}) in {_inputs(args)}")

    for population in populations:
        population["estimate"] = estimate(
            population["grid_period"], population["orientation"]
        )
    if len(populations) == 1:
        pooled = populations[0]["estimate"]
    else:
        pooled = estimate(
            np.concatenate([p["grid_period"] for p in populations]),
            np.concatenate([p["orientation"] for p in populations]),
        )

    result = {
        "inputs": [str(path) for path in args.paths],
        "grid_call": (
            {"method": "threshold", "score_60_above": args.threshold}
            if null is None
            else {
                "method": "null",
                "null": null,
                "samples": args.null_samples,
                "alpha": alpha,
                "rule": f"p_value_60 <= {alpha:g} against the unit's own surrogates",
            }
        ),
        "model": _model(args.orientation),
        "seed": args.seed,
        "populations": populations,
        "pooled": pooled,
        "units_of": {
            "grid_period": "m",
            "period": "m (geometric mean of the module)",
            "orientation": "degrees from +x towards +y, folded to [0, 60)",
            "log_period_sd": "natural log of period",
        },
    }
    if args.plot:
        grid_period = np.concatenate([p["grid_period"] for p in populations])
        orientation = np.concatenate([p["orientation"] for p in populations])
        _plot(grid_period, orientation, pooled, args.plot, plot_format)
        result["plot"] = str(args.plot)
    return result, _text(result)


def _model(use_orientation: bool) -> str:
    if use_orientation:
        return "Gaussian in log period times von Mises in orientation (60 degrees)"
    return "Gaussian in log period"


def _inputs(args) -> str:
    return ", ".join(str(path) for path in args.paths)


def _text(result: dict) -> str:
    call = result["grid_call"]
    how = (
        f"60-degree score > {call['score_60_above']:g}"
        if call["method"] == "threshold"
        else f"beats the {call['null']} null at p <= {call['alpha']:g} "
        f"({call['samples']} surrogates per unit)"
    )
    lines = [f"grid call: {how}; mixture components: {result['model']}"]
    populations = result["populations"]
    for population in populations:
        lines.append(
            f"{population['path']}: {population['n_grid']} of "
            f"{population['n_units']} units are grid units; "
            + _verdict(population["estimate"])
        )
    pooled = result["pooled"]
    if len(populations) > 1:
        lines.append(f"pooled over {len(populations)} inputs: " + _verdict(pooled))
    lines.extend(_details(pooled))
    if "plot" in result:
        lines.append(f"plot written to {result['plot']}")
    return "\n".join(lines)


def _verdict(estimate: dict) -> str:
    if estimate["status"] != "determined":
        return f"modules undetermined ({estimate['reason']})"
    count = estimate["n_modules"]
    shape = "unimodal" if estimate["unimodal"] else "not unimodal"
    return (
        f"{count} module{'s' if count != 1 else ''} by BIC "
        f"(margin {_number(estimate['bic_margin'], '.1f')}); dip test "
        f"p = {estimate['dip']['p_value']:.3g} ({shape} in log period)"
    )


def _details(estimate: dict) -> list[str]:
    if estimate["status"] != "determined":
        return []
    percent = int(round(100 * estimate["confidence"]))
    lines = [f"  module  units  period_cm  {percent}% CI         orientation_deg"]
    for j, module in enumerate(estimate["modules"]):
        ci = module["period_ci"]
        interval = (
            "" if ci is None else f"[{ci[0] * CM_PER_M:.1f}, {ci[1] * CM_PER_M:.1f}]"
        )
        lines.append(
            f"  {j + 1:6d}  {module['n_units']:5d}  "
            f"{module['period'] * CM_PER_M:9.1f}  {interval:17s}  "
            f"{_number(module['orientation'], '.1f')}"
        )
    for j, ratio in enumerate(estimate["ratios"]):
        ci = ratio["ci"]
        interval = "" if ci is None else f" [{ci[0]:.3f}, {ci[1]:.3f}]"
        lines.append(f"  ratio module {j + 2}/{j + 1}: {ratio['ratio']:.3f}{interval}")
    return lines


def _number(value, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _plot(grid_period, orientation, estimate, path, plot_format) -> None:
    """Period histogram with the mixture, and period against orientation."""
    from matplotlib.figure import Figure

    from validate.plotting import save_figure

    keep = np.isfinite(grid_period)
    period_cm = grid_period[keep] * CM_PER_M
    angle = orientation[keep]
    labels = np.asarray(estimate["labels"])[keep]
    determined = estimate["status"] == "determined"

    figure = Figure(figsize=(9.0, 3.6), layout="constrained")
    ax_hist, ax_scatter = figure.subplots(1, 2)
    log_period = np.log(period_cm)
    span = max(float(np.ptp(log_period)), 1.0 / PLOT_BINS_PER_LOG_UNIT)
    bins = np.exp(
        np.linspace(
            log_period.min(),
            log_period.min() + span,
            max(5, int(np.ceil(span * PLOT_BINS_PER_LOG_UNIT)) + 1),
        )
    )
    ax_hist.hist(period_cm, bins=bins, color="0.7", edgecolor="0.4")
    ax_hist.set_xscale("log")
    ax_hist.set_xlabel("grid period (cm)")
    ax_hist.set_ylabel("units")
    colours = [f"C{j % 10}" for j in range(len(estimate["modules"]))]
    if determined:
        # Mixture density scaled to counts per histogram bin of the log axis.
        grid = np.exp(np.linspace(np.log(bins[0]), np.log(bins[-1]), 400))
        width = np.log(bins[1]) - np.log(bins[0])
        for j, module in enumerate(estimate["modules"]):
            mean = np.log(module["period"] * CM_PER_M)
            sd = module["log_period_sd"]
            density = np.exp(-0.5 * ((np.log(grid) - mean) / sd) ** 2) / (
                sd * np.sqrt(2 * np.pi)
            )
            ax_hist.plot(
                grid,
                density * module["weight"] * period_cm.size * width,
                color=colours[j],
                lw=1.5,
                label=f"module {j + 1}: {module['period'] * CM_PER_M:.0f} cm",
            )
        ax_hist.legend(fontsize=7)
        title = f"{estimate['n_modules']} module(s), dip p = "
        title += f"{estimate['dip']['p_value']:.3g}"
    else:
        title = "modules undetermined"
    ax_hist.set_title(title, fontsize=9)

    for j in sorted(set(labels.tolist())):
        members = labels == j
        ax_scatter.scatter(
            angle[members],
            period_cm[members],
            s=14,
            color="0.5" if j < 0 else colours[j],
            label="unassigned" if j < 0 else f"module {j + 1}",
        )
    ax_scatter.set_yscale("log")
    ax_scatter.set_xlim(0, 60)
    ax_scatter.set_xlabel("orientation (degrees, folded to [0, 60))")
    ax_scatter.set_ylabel("grid period (cm)")
    ax_scatter.legend(fontsize=7)
    save_figure(figure, path, tight=False)
