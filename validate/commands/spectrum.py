"""``turing-grids spectrum``: the radial power spectrum of an encoding's targets."""

from __future__ import annotations

import numpy as np

from validate.cli import add_json_flag
from validate.commands._options import add_encoding_arguments, encoding_from_args


def register(subparsers, parser_class=None) -> None:
    parser = subparsers.add_parser(
        "spectrum",
        help="radial power spectrum of the exact targets (FFT) and its ring",
        description="FFT of the exact targets of a seeded finite population, each "
        "cell's mean removed, radially averaged; the ring is searched above 2*pi/L.",
    )
    add_encoding_arguments(parser)
    parser.add_argument("--seed", type=int, default=0, help="population seed")
    parser.add_argument(
        "--points", type=int, default=None, help="grid points along the box side"
    )
    parser.add_argument(
        "--plot", metavar="FILE", help="draw the spectrum (.png/.pdf/.svg)"
    )
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(args):
    from theory.prediction import predict, transform
    from theory.spectrum import radial_spectrum
    from validate.plotting import check_figure_path

    encoding = encoding_from_args(args)
    if args.plot:
        check_figure_path(args.plot)
    spectrum = radial_spectrum(encoding, seed=args.seed, points=args.points)
    prediction = predict(encoding, fft=False)
    closed_power = None
    if prediction.ring_closed_form is not None or encoding.name in ("gaussian", "sod"):
        closed_power = _closed_form_power(encoding, spectrum.wavenumbers, transform)

    result = {
        "encoding": encoding.name,
        "width": encoding.width,
        "surround_scale": encoding.surround_scale if encoding.is_difference else None,
        "convention": encoding.convention,
        "place_cells": encoding.n_cells,
        "seed": args.seed,
        "periodic": encoding.periodic,
        "wavenumbers": spectrum.wavenumbers,
        "power": spectrum.power,
        "peak_wavenumber": spectrum.peak_wavenumber,
        "pattern": "hexagonal" if spectrum.lattice else "none",
        "minimum_wavenumber": spectrum.minimum_wavenumber,
        "resolution": spectrum.resolution,
        "predicted_wavenumber": prediction.wavenumber,
        "closed_form_power": closed_power,
    }
    if args.plot:
        _plot(args.plot, encoding, spectrum, prediction.wavenumber, closed_power)
        result["plot"] = args.plot
    text = (
        f"{encoding.name}: FFT ring k* = {spectrum.peak_wavenumber:.4f} rad/m "
        f"({result['pattern']}); closed form {prediction.wavenumber:.4f} rad/m; "
        f"resolution 2*pi/L = {spectrum.resolution:.3f} rad/m"
    )
    return result, text


def _closed_form_power(encoding, wavenumbers, transform):
    if encoding.name in ("gaussian", "sod"):
        width = encoding.width
        if encoding.name == "sod":
            ratio = encoding.surround_width / width
            width = width * ratio / np.sqrt(ratio**2 - 1)
        power = np.exp(-(width**2) * wavenumbers**2)
    else:
        name = "dos" if encoding.name == "multifield" else encoding.name
        power = (
            transform(
                name,
                wavenumbers,
                encoding.width,
                encoding.surround_scale,
                convention=encoding.convention,
                alpha_e=encoding.alpha_e,
                alpha_i=encoding.alpha_i,
            )
            ** 2
        )
    above = wavenumbers >= 2 * np.pi / max(encoding.box_width, encoding.box_height_m)
    return power / power[above].max()


def _plot(path, encoding, spectrum, predicted, closed_power):
    from validate.plotting import pyplot, save_figure, spectrum_axes

    figure, axes = pyplot().subplots(figsize=(5, 3.4))
    label = (
        encoding.name
        if encoding.width is None
        else (f"{encoding.name}, width {encoding.width * 100:g} cm")
    )
    spectrum_axes(
        axes, spectrum, label=label, predicted=predicted, closed_form_power=closed_power
    )
    axes.set_title(
        "radial spectrum: FFT (dots), closed form (dashed), k* (triangle)", fontsize=8
    )
    axes.legend(fontsize=8)
    save_figure(figure, path)
