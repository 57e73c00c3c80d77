"""Closed-form ring wavenumber against the FFT of the exact targets.

Usage: python benchmarks/theory_table.py [--seed 0]

For DoS and the general DoG (alpha_E / alpha_I at 1.25 times the balanced
ratio) at widths 0.06-0.20 m in both surround conventions, prints the
closed-form k* (dense-cell limit), the FFT peak of the exact targets of 512
seeded cells in the open 2.2 m box, their difference in units of the box's
frequency bin 2 pi / L, and the predicted grid period; then the time one
``predict`` takes.
"""

from __future__ import annotations

import argparse
import time

from theory import Encoding, grid_period_from_wavenumber
from theory.prediction import predict, ring_wavenumber
from theory.spectrum import radial_spectrum

WIDTHS = (0.06, 0.08, 0.10, 0.11, 0.12, 0.13, 0.14, 0.16, 0.18, 0.20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print("encoding    convention width_m k_closed k_fft  diff_bins period_m")
    worst = 0.0
    for name in ("dos", "general_dog"):
        for convention in ("paper", "sorscher"):
            for width in WIDTHS:
                balanced = 4.0 if convention == "paper" else 2.0
                options = {"alpha_e": 1.25 * balanced} if name == "general_dog" else {}
                encoding = Encoding(name, width=width, convention=convention, **options)
                closed = float(
                    ring_wavenumber(name, width, 2.0, convention=convention, **options)
                )
                spectrum = radial_spectrum(encoding, seed=args.seed)
                diff = (spectrum.peak_wavenumber - closed) / spectrum.resolution
                worst = max(worst, abs(diff))
                print(
                    f"{name:11s} {convention:10s} {width:7.2f} {closed:8.3f} "
                    f"{spectrum.peak_wavenumber:6.3f} {diff:+9.3f} "
                    f"{float(grid_period_from_wavenumber(closed)):8.3f}"
                )
    print(f"largest |FFT - closed form|: {worst:.3f} bins of 2*pi/L")
    start = time.perf_counter()
    for _ in range(5):
        predict(Encoding("dos", width=0.12))
    seconds = (time.perf_counter() - start) / 5
    print(f"predict (closed form + FFT check): {seconds:.3f} s")


if __name__ == "__main__":
    main()
