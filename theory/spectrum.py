"""Power spectra of the exact coded targets, by FFT, for every encoding.

The targets of a finite population (seeded random or given centres) are
evaluated on a grid of positions covering the box; each cell's spatial mean
is removed (SN adds a constant, and the k = 0 term carries no pattern); the
2-D FFT of every cell's map is taken, the power summed over cells and
averaged in rings of equal |k|. The ring wavenumber is the maximum above
2 pi / L, the lowest wavenumber a box of side L holds (Sorscher et al. 2019).

Open box: the maps are zero-padded before the FFT so that rings are sampled
more finely than 2 pi / L (the resolution is still set by the box).
Periodic box: no padding; the FFT samples exactly the allowed wavevectors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft

from theory.cells import PlaceCells
from theory.encodings import Encoding

#: Grid points per place-cell width needed to resolve the profile.
POINTS_PER_WIDTH = 2.5
#: Default number of grid points along the longer side of the box.
DEFAULT_POINTS = 64
#: Zero-padding factor of the open-box FFT.
OPEN_BOX_PADDING = 2
#: A ring must beat the lowest wavenumber's power by this factor to count.
RING_CONTRAST = 1.05


@dataclass(frozen=True)
class RadialSpectrum:
    """A radially averaged power spectrum of an encoding's targets.

    Attributes
    ----------
    wavenumbers : array, shape (m,)
        Ring centres |k| (rad/m), from 0.
    power : array, shape (m,)
        Mean power per ring, summed over cells, normalised to a maximum of 1
        above ``minimum_wavenumber``.
    peak_wavenumber : float
        k* (rad/m) of the maximum above ``minimum_wavenumber``, refined by a
        parabola through the three rings around it; 0 when there is no ring.
    lattice : bool
        True when the maximum is a ring: an interior maximum that beats the
        power at ``minimum_wavenumber`` by :data:`RING_CONTRAST`.
    minimum_wavenumber : float
        2 pi / L for the longer side L: the smallest wavenumber the box holds.
    resolution : float
        2 pi / L, the spacing of independent wavenumbers (rad/m).
    periodic : bool
        Whether the box was a torus.
    """

    wavenumbers: np.ndarray
    power: np.ndarray
    peak_wavenumber: float
    lattice: bool
    minimum_wavenumber: float
    resolution: float
    periodic: bool


def position_grid(box_width: float, box_height: float, points: int) -> np.ndarray:
    """Bin-centre positions (ny, nx, 2) with ``points`` along the longer side (m)."""
    spacing = max(box_width, box_height) / points
    nx = max(int(round(box_width / spacing)), 1)
    ny = max(int(round(box_height / spacing)), 1)
    return bin_centres(box_width, box_height, (ny, nx))


def bin_centres(box_width: float, box_height: float, shape) -> np.ndarray:
    """Centres (ny, nx, 2) of a (ny, nx) grid of bins over a box centred at 0 (m).

    Rows run along y and columns along x; the last axis holds (x, y).
    """
    ny, nx = shape
    xs = (np.arange(nx) + 0.5) * box_width / nx - box_width / 2
    ys = (np.arange(ny) + 0.5) * box_height / ny - box_height / 2
    grid_x, grid_y = np.meshgrid(xs, ys)
    return np.stack([grid_x, grid_y], axis=-1)


def default_points(encoding: Encoding) -> int:
    """Grid points along the longer side: enough to resolve the narrowest width."""
    longer = max(encoding.box_width, encoding.box_height_m)
    narrowest = encoding.width if encoding.width is not None else np.inf
    if encoding.widths_range is not None:
        narrowest = min(narrowest, encoding.widths_range[0])
    needed = (
        int(np.ceil(POINTS_PER_WIDTH * longer / narrowest))
        if np.isfinite(narrowest)
        else DEFAULT_POINTS
    )
    return max(DEFAULT_POINTS, needed + needed % 2)


def radial_spectrum(
    encoding: Encoding,
    *,
    cells: PlaceCells | None = None,
    seed: int = 0,
    points: int | None = None,
    padding: int | None = None,
) -> RadialSpectrum:
    """Radially averaged power spectrum of ``encoding``'s exact targets.

    Parameters
    ----------
    encoding : Encoding
        The target encoding (its box and periodicity are used).
    cells : PlaceCells, optional
        The population; by default one drawn with ``seed``.
    seed : int
        Seed of the population when ``cells`` is not given.
    points : int, optional
        Grid points along the longer side of the box (default: enough for
        the narrowest width, at least 64).
    padding : int, optional
        Zero-padding factor (default 4 for an open box, 1 for a periodic one).

    Returns
    -------
    RadialSpectrum
    """
    if cells is None:
        cells = encoding.draw_cells(seed)
    points = default_points(encoding) if points is None else int(points)
    if points < 8:
        raise ValueError(f"points must be at least 8, got {points}")
    if padding is None:
        padding = 1 if encoding.periodic else OPEN_BOX_PADDING
    width, height = encoding.box_width, encoding.box_height_m

    grid = position_grid(width, height, points)  # (ny, nx, 2)
    maps = np.asarray(encoding.targets(grid, cells), dtype=float)  # (ny, nx, n)
    maps = maps - maps.mean(axis=(0, 1), keepdims=True)
    ny, nx = maps.shape[:2]
    shape = (padding * ny, padding * nx)
    power = np.sum(
        np.abs(scipy.fft.rfft2(maps, s=shape, axes=(0, 1), workers=-1)) ** 2, axis=-1
    )

    ky = 2 * np.pi * np.fft.fftfreq(shape[0], d=height / ny)
    kx = 2 * np.pi * np.fft.rfftfreq(shape[1], d=width / nx)
    radius = np.hypot(ky[:, None], kx[None, :])
    # rfft2 keeps half the plane; ring averages are unaffected by the symmetry.
    spacing = 2 * np.pi / (padding * max(width, height))
    index = np.rint(radius / spacing).astype(int)
    counts = np.bincount(index.ravel())
    sums = np.bincount(index.ravel(), weights=power.ravel())
    valid = counts > 0
    wavenumbers = np.arange(counts.size)[valid] * spacing
    ring_power = sums[valid] / counts[valid]
    nyquist = np.pi * min(nx / width, ny / height)
    keep = wavenumbers <= nyquist
    wavenumbers, ring_power = wavenumbers[keep], ring_power[keep]

    minimum = 2 * np.pi / max(width, height)
    peak, lattice, scale = _find_ring(wavenumbers, ring_power, minimum)
    return RadialSpectrum(
        wavenumbers=wavenumbers,
        power=ring_power / scale,
        peak_wavenumber=peak,
        lattice=lattice,
        minimum_wavenumber=minimum,
        resolution=minimum,
        periodic=encoding.periodic,
    )


def _find_ring(wavenumbers, power, minimum):
    above = np.flatnonzero(wavenumbers >= minimum * (1 - 1e-9))
    if above.size < 3 or not np.any(power[above] > 0):
        return 0.0, False, 1.0
    best = above[np.argmax(power[above])]
    scale = power[best]
    interior = above[0] < best < wavenumbers.size - 1
    lattice = bool(interior and scale > RING_CONTRAST * power[above[0]])
    if not lattice:
        return 0.0, False, scale
    left, centre, right = power[best - 1 : best + 2]
    curvature = left - 2 * centre + right
    offset = 0.5 * (left - right) / curvature if curvature < 0 else 0.0
    step = wavenumbers[best + 1] - wavenumbers[best]
    return float(wavenumbers[best] + np.clip(offset, -0.5, 0.5) * step), True, scale
