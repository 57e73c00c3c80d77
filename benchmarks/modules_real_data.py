"""Grid modules in real recordings: does the toolkit find the brain's modules?

Reads the real grid-cell recordings shipped beside the repository (see that
folder's README) and prints:

- Stensola et al. (2012), rat 14147, one session of 65 units: how many units
  the toolkit calls grid cells, how many modules it finds among them, their
  periods and orientations, the ratios between consecutive modules with
  bootstrap intervals, and the agreement with the authors' module labels
  (adjusted Rand index on the units both label; a contingency table);
- the same clustering on the periods of the authors' 25 module-labelled
  cells, whatever the grid call, which separates the clustering from the
  call;
- the single Sargolini et al. (2006) and Gerlei et al. (2020) cells,
  including the weak unit kept as a negative control: score, period,
  orientation, grid call, and the modules verdict of one unit.

Length unit of the Stensola file: its positions carry no unit and were read
as centimetres, giving a 3.3 m box. Module counts, period ratios and the
adjusted Rand index do not depend on the unit; periods are printed both as
stored and as they would be if the arena was the lab's usual 1.5 m box
(every length times 1.5 / 3.3), the reading that gives module periods in
the published range.

Maps: by default the smoothed maps stored in the files (Gaussian, sigma = 1
bin); ``--maps ratemaps`` uses the unsmoothed ones. Grid call: by default
the command line's (the spectrum null of :mod:`validate.nulls`, which scores
200 surrogates per unit: about 20 minutes for the 65 Stensola maps on a
shared 2-core machine); ``--threshold X`` takes seconds.

Run from the repository root::

    python benchmarks/modules_real_data.py [DATA_DIR]
        [--threshold X | --null spectrum|fields|noise] [--maps KEY] [--seed N]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from validate.commands.modules import grid_call  # noqa: E402
from validate.modules import adjusted_rand_index, estimate_modules  # noqa: E402
from validate.nulls import ALPHA, DEFAULT_NULL, DEFAULT_NULL_SAMPLES, NULLS  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "real_grid_cells"
STENSOLA_FILE = "stensola2012_rat14147_2010-05-18.npz"
SINGLE_CELLS = (
    ("sargolini2006_10704-07070407.npz", "Sargolini 10704-07070407 T2C3 (grid)"),
    ("sargolini2006_11084-03020501.npz", "Sargolini 11084-03020501 t2c1 (control)"),
    ("gerlei2020_M12_2018-04-10_14-22-14_of.npz", "Gerlei M12 T1C2 (mouse grid)"),
)

#: Side (m) of the arena under the hypothesis that the Stensola file's
#: native unit is not centimetres but 1 / (box extent) of a 1.5 m box.
HYPOTHETICAL_BOX_M = 1.5

BOOTSTRAP = 2000
CM_PER_M = 100.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", default=str(DEFAULT_DATA))
    call = parser.add_mutually_exclusive_group()
    call.add_argument(
        "--threshold",
        type=float,
        help="call grid cells by a 60-degree score above this (min/max form)",
    )
    call.add_argument(
        "--null",
        choices=NULLS,
        help=f"call grid cells by this null (the default, {DEFAULT_NULL})",
    )
    parser.add_argument("--null-samples", type=int, default=DEFAULT_NULL_SAMPLES)
    parser.add_argument(
        "--maps", choices=("ratemaps_smoothed", "ratemaps"), default="ratemaps_smoothed"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    data = Path(args.data)
    if not (data / STENSOLA_FILE).is_file():
        parser.error(f"{data} does not hold {STENSOLA_FILE}")
    null = None if args.threshold is not None else (args.null or DEFAULT_NULL)

    def call(maps, box_width, box_height):
        return grid_call(
            maps,
            box_width=box_width,
            box_height=box_height,
            threshold=args.threshold,
            null=null,
            null_samples=args.null_samples,
            seed=args.seed,
        )

    how = (
        f"60-degree score > {args.threshold:g} (min/max form)"
        if null is None
        else f"beats the {null} null at p <= {ALPHA:g} ({args.null_samples} "
        "surrogates per unit)"
    )
    print(f"data: {data}")
    print(f"maps: {args.maps}; grid call: {how}; seed {args.seed}")
    stensola(data, args.maps, call, args.seed)
    single_cells(data, args.maps, call, args.seed)
    return 0


def load(path, key):
    with np.load(path) as archive:
        return (
            archive[key],
            float(archive["box_width"]),
            float(archive["box_height"]),
        )


def authors_modules(data: Path) -> np.ndarray:
    """The authors' module (1-3) of each Stensola unit by index, 0 if none."""
    with open(data / "cells.csv", newline="") as stream:
        rows = [row for row in csv.DictReader(stream) if row["npz"] == STENSOLA_FILE]
    labels = np.zeros(len(rows), dtype=int)
    for row in rows:
        if row["authors_module"]:
            labels[int(row["unit_index"])] = int(row["authors_module"])
    return labels


def stensola(data: Path, key: str, call, seed: int) -> None:
    maps, box_width, box_height = load(data / STENSOLA_FILE, key)
    scores = call(maps, box_width, box_height)
    is_grid = scores["is_grid"]
    authors = authors_modules(data)
    labelled = authors > 0
    scale = HYPOTHETICAL_BOX_M / box_width

    print()
    print(f"== Stensola et al. 2012, rat 14147: {maps.shape[0]} units ==")
    print(
        f"length unit: stored box {box_width:g} x {box_height:g} m (native unit "
        f"read as cm); a {HYPOTHETICAL_BOX_M:g} m arena would scale every "
        f"length by {scale:.3f}"
    )
    print(
        f"grid call: {is_grid.sum()} units; of the authors' {labelled.sum()} "
        f"module cells {np.sum(is_grid & labelled)} are called grid, and "
        f"{np.sum(is_grid & ~labelled)} called units have no module label"
    )

    per_module = ", ".join(
        f"module {m}: {np.sum(is_grid & (authors == m))}/{np.sum(authors == m)}"
        for m in (1, 2, 3)
    )
    print(f"called grid among the authors' module cells: {per_module}")
    populations = (
        ("units called grid", np.flatnonzero(is_grid)),
        ("the authors' module cells (no grid call)", np.flatnonzero(labelled)),
    )
    for title, units in populations:
        for use_orientation in (False, True):
            model = "log period and orientation" if use_orientation else "log period"
            print(f"-- modules among {title}; model: {model} --")
            estimate = estimate_modules(
                scores["grid_period"][units],
                scores["orientation"][units],
                use_orientation=use_orientation,
                bootstrap=BOOTSTRAP,
                seed=seed,
            )
            report(estimate, scale)
            if estimate["status"] == "determined":
                found = np.full(maps.shape[0], -1)
                found[units] = estimate["labels"]
                both = labelled & (found >= 0)
                agreement(authors[both], found[both])
    for module in (1, 2, 3):
        members = authors == module
        period = scores["grid_period"][members]
        print(
            f"  authors' module {module}: {members.sum()} cells, median period "
            f"{np.nanmedian(period) * CM_PER_M:.1f} cm stored "
            f"({np.nanmedian(period) * scale * CM_PER_M:.1f} cm in a 1.5 m box), "
            f"median score_60 {np.nanmedian(scores['score_60'][members]):.2f}"
        )


def report(estimate: dict, scale: float) -> None:
    if estimate["status"] != "determined":
        print(f"  undetermined: {estimate['reason']}")
        return
    dip = estimate["dip"]
    shape = "unimodal" if estimate["unimodal"] else "not unimodal"
    print(
        f"  {estimate['n_units']} units ({estimate['n_dropped']} without a period): "
        f"{estimate['n_modules']} module(s) by BIC (margin "
        f"{fmt(estimate['bic_margin'], '.1f')}); dip {dip['dip']:.3f}, p = "
        f"{dip['p_value']:.4f} ({shape})"
    )
    print(
        "  BIC: "
        + ", ".join(f"{b['modules']}: {b['bic']:.1f}" for b in estimate["bic"])
    )
    for j, module in enumerate(estimate["modules"]):
        period = module["period"] * CM_PER_M
        low, high = np.array(module["period_ci"]) * CM_PER_M
        print(
            f"  module {j + 1}: {module['n_units']:2d} units, period {period:6.1f} cm "
            f"[{low:.1f}, {high:.1f}] stored = {period * scale:5.1f} cm "
            f"[{low * scale:.1f}, {high * scale:.1f}] in a 1.5 m box; orientation "
            f"{fmt(module['orientation'], '.1f')} deg "
            f"{fmt_interval(module['orientation_ci'])}"
        )
    for j, ratio in enumerate(estimate["ratios"]):
        low, high = ratio["ci"]
        print(
            f"  ratio module {j + 2}/{j + 1}: {ratio['ratio']:.3f} "
            f"[{low:.3f}, {high:.3f}] (95% bootstrap, {estimate['bootstrap']} "
            "replicates)"
        )


def agreement(authors: np.ndarray, found: np.ndarray) -> None:
    if authors.size < 2:
        print("  ARI: fewer than 2 units labelled by both")
        return
    print(
        f"  adjusted Rand index vs the authors' modules on {authors.size} units "
        f"labelled by both: {adjusted_rand_index(authors, found):.3f}"
    )
    modules = np.unique(found)
    print("  authors \\ found  " + "  ".join(f"{m + 1:3d}" for m in modules))
    for module in np.unique(authors):
        counts = [np.sum((authors == module) & (found == m)) for m in modules]
        print(f"  module {module}          " + "  ".join(f"{c:3d}" for c in counts))


def single_cells(data: Path, key: str, call, seed: int) -> None:
    print()
    print("== single cells ==")
    for file, name in SINGLE_CELLS:
        maps, box_width, box_height = load(data / file, key)
        scores = call(maps, box_width, box_height)
        is_grid = scores["is_grid"]
        estimate = estimate_modules(
            scores["grid_period"][is_grid], scores["orientation"][is_grid], seed=seed
        )
        null_p = ""
        if "p_value_60" in scores:
            null_p = f" (null p = {fmt(scores['p_value_60'][0], '.3f')})"
        verdict = (
            f"modules {estimate['status']}"
            if estimate["n_modules"] is None
            else f"{estimate['n_modules']} module(s)"
        )
        print(
            f"  {name}: score_60 {fmt(scores['score_60'][0], '.2f')}, period "
            f"{fmt(scores['grid_period'][0] * CM_PER_M, '.1f')} cm, orientation "
            f"{fmt(scores['orientation'][0], '.1f')} deg, grid call "
            f"{'yes' if is_grid[0] else 'no'}{null_p}; {verdict} "
            f"({estimate['n_units']} unit(s) called grid)"
        )


def fmt(value, spec) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return format(value, spec)


def fmt_interval(interval) -> str:
    if interval is None:
        return ""
    return f"[{interval[0]:.1f}, {interval[1]:.1f}]"


if __name__ == "__main__":
    raise SystemExit(main())
