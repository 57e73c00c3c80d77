"""Pattern dynamics across widths and on the torus: measured vs predicted period.

Usage: python benchmarks/pattern_sweep.py [--units 8] [--seed 0]

Prints, for DoS (surround scale 2) at widths 0.06-0.20 m in both surround
conventions, the median 60-degree score and grid period of the converged
maps against the linear prediction 4 pi / (sqrt(3) k*), and the seconds each
took; then the periodic-box study at 0.11, 0.12 and 0.13 m over three seeds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from validate.pattern_study import torus_study, width_sweep

WIDTHS = (0.06, 0.08, 0.10, 0.11, 0.12, 0.13, 0.14, 0.16, 0.18, 0.20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    start = time.perf_counter()
    rows = width_sweep(WIDTHS, units=args.units, seed=args.seed)
    print("width_m convention score_60 period_m predicted_m ratio iterations seconds")
    for row in rows:
        print(
            f"{row['width']:.2f} {row['convention']:>9} {row['grid_score']:8.3f} "
            f"{row['grid_period']:8.3f} {row['predicted_grid_period']:11.3f} "
            f"{row['period_ratio']:5.3f} {row['iterations']:10d} {row['seconds']:7.2f}"
        )
    ratios = np.array([row["period_ratio"] for row in rows])
    print(
        f"period ratio measured/predicted: median {np.nanmedian(ratios):.3f}, "
        f"range {np.nanmin(ratios):.3f}-{np.nanmax(ratios):.3f}"
    )

    print("\nperiodic 2.2 m box (torus), DoS paper convention")
    print(
        "width_m seed score_60 frac>0.3 period_m predicted_m triad_detuning angle_err"
    )
    for row in torus_study(units=args.units):
        print(
            f"{row['width']:.2f} {row['seed']:4d} {row['grid_score']:8.3f} "
            f"{row['fraction_above_0.3']:8.2f} {row['grid_period']:8.3f} "
            f"{row['predicted_grid_period']:11.3f} {row['triad_max_detuning']:14.3f} "
            f"{row['triad_angle_error']:9.1f}"
        )
    print(f"total {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
