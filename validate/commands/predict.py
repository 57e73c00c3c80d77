"""``turing-grids predict``: wavenumber, period and pattern from theory."""

from __future__ import annotations

from validate.cli import add_json_flag
from validate.commands._options import add_encoding_arguments, encoding_from_args


def register(subparsers, parser_class=None) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="predicted wavenumber, wavelength, grid period and pattern",
        description="Theory's prediction for one encoding: the ring wavenumber k* "
        "(closed form in the dense-cell limit where one exists), wavelength 2*pi/k*, "
        "grid period 4*pi/(sqrt(3)*k*), the pattern, and a check of k* on the FFT of "
        "the exact targets of a finite seeded population.",
    )
    add_encoding_arguments(parser)
    parser.add_argument(
        "--seed", type=int, default=0, help="population seed of the FFT check"
    )
    parser.add_argument("--no-fft", action="store_true", help="skip the FFT check")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(args):
    from theory.prediction import predict

    prediction = predict(encoding_from_args(args), fft=not args.no_fft, seed=args.seed)
    result = prediction.to_dict()
    return result, _text(result)


def _text(result: dict) -> str:
    lines = [f"encoding           {result['encoding']}"]
    if result["width"] is not None:
        lines.append(f"width              {result['width'] * 100:.2f} cm")
    if result["surround_scale"] is not None:
        lines.append(
            f"surround           s = {result['surround_scale']:g} "
            f"({result['convention']} "
            f"convention: surround sigma {result['surround_width'] * 100:.2f} cm)"
        )
    lines.append(f"pattern            {result['pattern']}")
    if result["wavenumber"] > 0:
        lines += [
            f"wavenumber k*      {result['wavenumber']:.4f} rad/m",
            f"wavelength 2pi/k*  {result['wavelength'] * 100:.2f} cm",
            f"grid period        {result['grid_period'] * 100:.2f} cm "
            "(hexagonal nearest-neighbour spacing)",
        ]
    else:
        lines.append("wavenumber k*      0 (the uniform mode wins: no lattice)")
    if result["closed_form"] is not None:
        lines.append(f"closed form k*     {result['closed_form']}")
    if result.get("alpha_ratio_window"):
        low, high = result["alpha_ratio_window"]
        lines.append(
            f"alpha_E/alpha_I    {result['alpha_ratio']:g}; "
            f"lattice window ({low:.4g}, {high:.4g})"
        )
    if result["fft_wavenumber"] is not None:
        lines.append(
            f"FFT check          k* = {result['fft_wavenumber']:.4f} rad/m, "
            f"{result['fft_pattern']} (bin {result['fft_resolution']:.3f} rad/m; "
            f"{'agrees' if result['fft_agrees'] else 'DISAGREES'})"
        )
    if result["box_note"] and result["wavenumber"] > 0:
        lines.append(f"box                {result['box_note']}")
    elif result["wavenumber"] > 0:
        lines.append(
            f"box                {result['box_width']:g} x {result['box_height']:g} m "
            f"holds {result['periods_across_box']:.2f} grid periods"
        )
    for shell in result.get("periodic_shells", [])[:2]:
        lines.append(
            f"torus shell        |k| = {shell['wavenumber']:.3f} rad/m "
            f"({shell['detuning']:+.1%} from k*), {shell['multiplicity']} wavevectors"
        )
    return "\n".join(lines)
