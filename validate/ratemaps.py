"""Rate maps: mean activity per spatial bin, NaN where the box was not visited.

Layout used everywhere in turing-grids: a stack of rate maps is an array of
shape ``(units, ny, nx)``; row ``iy`` runs along y (row 0 at the bottom wall,
y = -h/2) and column ``ix`` along x (column 0 at the left wall, x = -w/2), so
``imshow(ratemap, origin="lower")`` draws the box as seen from above with +x
to the right and +y up. The box is centred at the origin:
x in [-w/2, w/2], y in [-h/2, h/2], metres.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.ndimage
import scipy.sparse

logger = logging.getLogger(__name__)

#: Bins per side of the rate maps the paper scores (5 cm bins in a 2.2 m box).
DEFAULT_BINS = 44

#: Gaussian kernels are truncated at this many standard deviations.
SMOOTHING_TRUNCATE = 4.0


def bin_counts(
    *,
    box_width: float,
    box_height: float | None = None,
    bins=DEFAULT_BINS,
    bin_size: float | None = None,
) -> tuple[int, int]:
    """Number of bins ``(ny, nx)`` for a box and a bin count or bin size.

    Parameters
    ----------
    box_width, box_height : float
        Box side lengths along x and y (m); ``box_height`` defaults to
        ``box_width``.
    bins : int or (int, int)
        Bins per side, or ``(ny, nx)``. Ignored when ``bin_size`` is given.
    bin_size : float, optional
        Side of a bin (m). The count per side is ``round(side / bin_size)``
        (at least 1), so the bins always span the box exactly and the actual
        bin size is ``side / count``.

    Returns
    -------
    (int, int)
        ``(ny, nx)``.
    """
    box_width, box_height = _box(box_width, box_height)
    if bin_size is not None:
        if not np.isfinite(bin_size) or bin_size <= 0:
            raise ValueError(f"bin_size must be a positive length (m), got {bin_size}")
        return (
            max(1, round(box_height / bin_size)),
            max(1, round(box_width / bin_size)),
        )
    shape = np.broadcast_to(np.asarray(bins), (2,))
    if shape.dtype.kind not in "iu" or np.any(shape < 1):
        raise ValueError(f"bins must be a positive int or (ny, nx), got {bins!r}")
    return int(shape[0]), int(shape[1])


def compute_ratemaps(
    positions,
    activations,
    *,
    box_width: float,
    box_height: float | None = None,
    bins=DEFAULT_BINS,
    bin_size: float | None = None,
    min_occupancy: int = 1,
    smooth_sigma: float = 0.0,
) -> np.ndarray:
    """Mean activation of every unit in every spatial bin.

    Parameters
    ----------
    positions : array, shape (T, 2)
        Positions (x, y) in metres, box centred at the origin. Samples with a
        NaN coordinate are dropped. Positions outside the box are clipped into
        the edge bins (a warning is logged if any lies more than half a bin
        outside).
    activations : array, shape (T, units) or (T,)
        Activity of each unit at each sample. A NaN activation makes its
        unit's bin NaN.
    box_width, box_height : float
        Box side lengths along x and y (m); ``box_height`` defaults to
        ``box_width``.
    bins : int or (int, int)
        Bins per side, or ``(ny, nx)``; ignored when ``bin_size`` is given.
    bin_size : float, optional
        Side of a bin (m); see :func:`bin_counts`.
    min_occupancy : int
        Bins with fewer samples than this are NaN (1: only unvisited bins).
    smooth_sigma : float
        Standard deviation (m) of a NaN-aware Gaussian smoothing applied to
        the maps (see :func:`smooth_ratemaps`); 0 for none.

    Returns
    -------
    array of float, shape (units, ny, nx)
        Rate maps, rows along y and columns along x (see the module
        docstring), NaN where a bin has fewer than ``min_occupancy`` samples.
    """
    box_width, box_height = _box(box_width, box_height)
    ny, nx = bin_counts(
        box_width=box_width, box_height=box_height, bins=bins, bin_size=bin_size
    )
    positions = np.asarray(positions, dtype=float)
    activations = np.asarray(activations, dtype=float)
    if activations.ndim == 1:
        activations = activations[:, None]
    if positions.ndim != 2 or positions.shape[1] != 2:
        raise ValueError(f"positions must have shape (T, 2), got {positions.shape}")
    if activations.ndim != 2 or activations.shape[0] != positions.shape[0]:
        raise ValueError(
            f"activations must have shape (T, units) with T = {positions.shape[0]}, "
            f"got {activations.shape}"
        )
    if min_occupancy < 1:
        raise ValueError(f"min_occupancy must be >= 1, got {min_occupancy}")
    if smooth_sigma < 0:
        raise ValueError(f"smooth_sigma must be >= 0 (m), got {smooth_sigma}")

    # Bin index of every valid sample.
    keep = np.all(np.isfinite(positions), axis=1)
    positions, activations = positions[keep], activations[keep]
    bin_width, bin_height = box_width / nx, box_height / ny
    fx = (positions[:, 0] + box_width / 2) / bin_width
    fy = (positions[:, 1] + box_height / 2) / bin_height
    outside = (fx < -0.5) | (fx > nx + 0.5) | (fy < -0.5) | (fy > ny + 0.5)
    if np.any(outside):
        logger.warning(
            "%d of %d positions lie more than half a bin outside the box; "
            "clipped into the edge bins",
            int(outside.sum()),
            len(outside),
        )
    ix = np.clip(np.floor(fx).astype(np.intp), 0, nx - 1)
    iy = np.clip(np.floor(fy).astype(np.intp), 0, ny - 1)
    flat = iy * nx + ix

    # Sums over the samples of each bin, all units at once: a sparse
    # (bins, T) indicator times the (T, units) activations.
    samples = len(flat)
    indicator = scipy.sparse.csr_matrix(
        (np.ones(samples), (flat, np.arange(samples))), shape=(ny * nx, samples)
    )
    occupancy = np.bincount(flat, minlength=ny * nx)
    sums = np.asarray(indicator @ activations)  # (bins, units)
    with np.errstate(invalid="ignore", divide="ignore"):
        maps = sums / occupancy[:, None]
    maps[occupancy < min_occupancy] = np.nan
    maps = np.ascontiguousarray(maps.T).reshape(-1, ny, nx)

    if smooth_sigma > 0:
        maps = smooth_ratemaps(
            maps, sigma_bins=(smooth_sigma / bin_height, smooth_sigma / bin_width)
        )
    return maps


def smooth_ratemaps(ratemaps, *, sigma_bins) -> np.ndarray:
    """NaN-aware Gaussian smoothing of rate maps (normalised convolution).

    Each valid bin becomes the Gaussian-weighted mean of the valid bins
    around it; NaN bins take no part and stay NaN.

    Parameters
    ----------
    ratemaps : array, shape (units, ny, nx)
    sigma_bins : float or (float, float)
        Standard deviation of the Gaussian in bins, or ``(along y, along x)``.

    Returns
    -------
    array, shape (units, ny, nx)
    """
    ratemaps = np.asarray(ratemaps, dtype=float)
    if ratemaps.ndim != 3:
        raise ValueError(
            f"ratemaps must have shape (units, ny, nx), got {ratemaps.shape}"
        )
    sigma_y, sigma_x = np.broadcast_to(np.asarray(sigma_bins, dtype=float), (2,))
    if sigma_y < 0 or sigma_x < 0:
        raise ValueError(f"sigma_bins must be >= 0, got {sigma_bins!r}")
    valid = np.isfinite(ratemaps)
    sigma = (0.0, sigma_y, sigma_x)
    kwargs = dict(sigma=sigma, mode="constant", cval=0.0, truncate=SMOOTHING_TRUNCATE)
    weighted = scipy.ndimage.gaussian_filter(np.where(valid, ratemaps, 0.0), **kwargs)
    weight = scipy.ndimage.gaussian_filter(valid.astype(float), **kwargs)
    with np.errstate(invalid="ignore", divide="ignore"):
        smoothed = weighted / weight
    smoothed[~valid] = np.nan
    return smoothed


def _box(box_width, box_height) -> tuple[float, float]:
    """Validated box side lengths (m)."""
    box_height = box_width if box_height is None else box_height
    for name, value in (("box_width", box_width), ("box_height", box_height)):
        if value is None or not np.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a positive length (m), got {value}")
    return float(box_width), float(box_height)
