"""Figures for the command line and the report (matplotlib, no display)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from simulate.files import write_bytes


def check_figure_path(path: str | Path) -> Path:
    """Validate a figure path before any work is done (one-line errors).

    The format comes from the suffix and must be one matplotlib's Agg
    backend writes (png, pdf, svg, ...); the directory must exist.
    """
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    supported = _supported_formats()
    if suffix not in supported:
        raise ValueError(
            f"figure file {str(path)!r}: unknown format {suffix!r} "
            f"(use one of {', '.join(sorted(supported))})"
        )
    if path.is_dir():
        raise ValueError(f"figure path {str(path)!r} is a directory")
    if not path.resolve().parent.is_dir():
        raise ValueError(f"directory of figure file {str(path)!r} does not exist")
    return path


def _supported_formats() -> set[str]:
    pyplot()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    return set(FigureCanvasAgg(Figure()).get_supported_filetypes())


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(
    figure, path: str | Path, *, dpi: int = 120, tight: bool = True
) -> Path:
    """Write ``figure`` atomically (format from the suffix) and close it."""
    path = check_figure_path(path)
    buffer = io.BytesIO()
    figure.savefig(
        buffer,
        format=path.suffix.lstrip(".").lower(),
        dpi=dpi,
        bbox_inches="tight" if tight else None,
    )
    pyplot().close(figure)
    write_bytes(path, buffer.getvalue())
    return path


def spectrum_axes(
    axes,
    spectrum,
    *,
    label: str,
    predicted: float | None = None,
    closed_form_power=None,
    color=None,
) -> None:
    """Draw one radial spectrum with its ring and the box's lowest wavenumber."""
    (line,) = axes.plot(
        spectrum.wavenumbers, spectrum.power, ".-", ms=3, lw=1, label=label, color=color
    )
    if closed_form_power is not None:
        axes.plot(
            spectrum.wavenumbers,
            closed_form_power,
            "--",
            lw=1,
            color=line.get_color(),
            alpha=0.7,
        )
    if spectrum.lattice:
        axes.axvline(spectrum.peak_wavenumber, color=line.get_color(), lw=0.8, ls=":")
    if predicted is not None and predicted > 0:
        axes.plot([predicted], [1.0], "v", color=line.get_color(), ms=7)
    axes.axvspan(0, spectrum.minimum_wavenumber, color="0.9", zorder=0)
    axes.set_xlabel("wavenumber |k| (rad/m)")
    axes.set_ylabel("power (max above 2π/L = 1)")
    axes.set_ylim(0, 1.15)
    top = np.pi / 0.02 if spectrum.wavenumbers.size == 0 else spectrum.wavenumbers[-1]
    axes.set_xlim(0, min(top, 40.0))


def maps_and_autocorrelograms(
    path, maps, scores, *, box_width, box_height, title="", limit: int = 8
) -> None:
    """Maps sorted by 60-degree score above their autocorrelograms."""
    plt = pyplot()
    order = np.argsort(-np.nan_to_num(scores["score_60"], nan=-np.inf))[:limit]
    sacs = scores.get("sac")
    if sacs is None:
        from validate.scores import autocorrelogram

        sacs = autocorrelogram(maps[order])
    else:
        sacs = sacs[order]
    columns = len(order)
    figure, axes = plt.subplots(2, columns, figsize=(1.6 * columns, 3.4), squeeze=False)
    extent = [-box_width / 2, box_width / 2, -box_height / 2, box_height / 2]
    for column, unit in enumerate(order):
        axes[0, column].imshow(
            maps[unit], origin="lower", extent=extent, cmap="viridis"
        )
        axes[0, column].set_title(
            f"unit {unit}\n{scores['score_60'][unit]:.2f}", fontsize=7
        )
        axes[1, column].imshow(
            sacs[column], origin="lower", cmap="RdBu_r", vmin=-1, vmax=1
        )
        for row in range(2):
            axes[row, column].set_xticks([])
            axes[row, column].set_yticks([])
    axes[0, 0].set_ylabel("map", fontsize=8)
    axes[1, 0].set_ylabel("autocorrelogram", fontsize=8)
    if title:
        figure.suptitle(title, fontsize=8)
    save_figure(figure, path)
