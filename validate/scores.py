"""Spatial autocorrelograms, grid scores, grid period and orientation.

The method follows Banino et al. (2018) as used by Sorscher et al. (2019) and
Schaeffer, Khona & Fiete (2022), with three deliberate differences that make
it correct on maps with unvisited bins and comparable across map sizes:

1. The spatial autocorrelogram (SAC) is a Pearson correlation at every
   integer lag over the pairs of bins that are *both* visited; unvisited
   (NaN) bins are excluded, not counted as rate 0. Lags with fewer than
   ``min_overlap`` such pairs are NaN.
2. Inside each annulus the SAC and its rotated copy are compared with a full
   Pearson correlation over the bins where both are defined (Banino's code
   uses the unrotated SAC's mean and variance for both).
3. Rotation is bilinear interpolation in physical coordinates, so bins need
   not be square; a rotated value is defined only where all four SAC bins it
   interpolates are defined.

Geometry (everything else as Banino et al.): the SAC of ``(ny, nx)`` maps
has shape ``(2 ny - 1, 2 nx - 1)``; its centre ``[ny - 1, nx - 1]`` is lag 0,
row ``i`` is the lag ``(i - ny + 1)`` bins along y and column ``j`` the lag
``(j - nx + 1)`` bins along x. Annuli have inner radius ``0.2 L`` and outer
radii ``0.4 L ... 1.0 L`` (10 steps), where ``L`` is the shorter side of the
box (for square maps and bins, ``L = n`` bins exactly as in Banino et al.);
a bin belongs to an annulus if ``inner < r <= outer``. The score is the
maximum over annuli.

60-degree score: ``min(c60, c120) - max(c30, c90, c150)`` (``form="minmax"``,
Sargolini et al. 2006, the 2022 paper's code, the default) or
``mean(c60, c120) - mean(c30, c90, c150)`` (``form="mean"``, Banino et al.,
Sorscher et al.). 90-degree score: ``c90 - mean(c45, c135)``.

Scores from other toolkits (opexebo, spatial-maps, ephysiopy) use other SAC
normalisations, NaN policies and annuli; they are not comparable with these.

References
----------
Sargolini F. et al. (2006) Science 312:758, doi:10.1126/science.1125572.
Banino A. et al. (2018) Nature 557:429, doi:10.1038/s41586-018-0102-6.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.ndimage
import scipy.sparse

from validate.parallel import parallel_map

logger = logging.getLogger(__name__)

FORMS = ("minmax", "mean")
DEFAULT_FORM = "minmax"

#: Angles (degrees) by which the SAC is rotated, Banino et al.'s order.
ROTATION_ANGLES_DEG = (30, 45, 60, 90, 120, 135, 150)
_ANGLE = {angle: k for k, angle in enumerate(ROTATION_ANGLES_DEG)}

#: Annulus radii as fractions of the shorter box side (Banino et al.).
ANNULUS_INNER_FRACTION = 0.2
ANNULUS_OUTER_FRACTIONS = tuple(np.linspace(0.4, 1.0, 10).tolist())

#: A SAC lag needs at least this many pairs of visited bins.
MIN_OVERLAP_BINS = 20

#: Relative variance below which a correlation is undefined (a constant),
#: at least this many rounding errors of the working precision.
_VARIANCE_FLOOR = 1e-10
_VARIANCE_FLOOR_EPS = 100


def _variance_floor(dtype) -> float:
    return max(_VARIANCE_FLOOR, _VARIANCE_FLOOR_EPS * float(np.finfo(dtype).eps))


#: A rotated SAC value needs this much of its interpolation weight on
#: defined SAC bins (all of it, up to rounding in single precision).
_WEIGHT_FLOOR = 1.0 - 1e-5

#: SAC peaks used for grid period and orientation, and their minimum height.
PEAKS_FOR_PERIOD = 6
MIN_PEAK_CORRELATION = 0.0

#: Map bins processed together: 32 maps of 44 x 44, few enough for the FFTs
#: and rotated copies of a chunk to stay in cache (measured: 2-3x faster
#: than 256 maps); larger maps come in proportionally fewer per chunk.
BINS_PER_CHUNK = 32 * 44 * 44


def _chunk_units(ny: int, nx: int) -> int:
    return max(1, BINS_PER_CHUNK // (ny * nx))


#: Human-readable summary of the conventions, for outputs that need to say it.
CONVENTIONS = {
    "sac": "Pearson correlation over pairs of visited bins at each integer lag; "
    f"lags with fewer than {MIN_OVERLAP_BINS} pairs undefined",
    "nan_policy": "unvisited (NaN) bins excluded, never zero-filled; constant, "
    "dead or all-NaN maps give null scores",
    "annuli": "inner radius 0.2 L, outer radii 0.4 L to 1.0 L in 10 steps, "
    "L = shorter box side; score = max over annuli",
    "rotation": "bilinear, in physical coordinates",
    "score_60_minmax": "min(c60, c120) - max(c30, c90, c150)",
    "score_60_mean": "mean(c60, c120) - mean(c30, c90, c150)",
    "score_90": "c90 - mean(c45, c135)",
    "grid_period": "median distance (m) to the six nearest SAC peaks (maxima "
    "above 0 over a neighbourhood as wide as the central field, beyond it), "
    "refined by a 3 x 3 quadratic fit; reported whatever the score",
    "orientation": "degrees from +x towards +y of those six peaks, folded to "
    "[0, 60) and averaged on the 60-degree circle; rows = y, columns = x",
}


def check_form(form: str) -> str:
    """Return ``form`` if it is a known score form, else raise ValueError."""
    if form not in FORMS:
        raise ValueError(f"form must be one of {', '.join(FORMS)}, got {form!r}")
    return form


# --------------------------------------------------------------------------
# Autocorrelogram


def autocorrelogram(ratemaps, *, min_overlap: int = MIN_OVERLAP_BINS) -> np.ndarray:
    """NaN-aware Pearson spatial autocorrelogram of every rate map.

    For every integer lag ``d`` the value is the Pearson correlation of
    ``m[p]`` and ``m[p + d]`` over the bins ``p`` where both are visited
    (finite). All the sums involved (counts, sums, sums of squares, cross
    sums over the overlap) are correlations of the zero-filled map and its
    validity mask, computed for all units at once with FFTs (with
    cumulative sums for the overlap sums of fully visited maps). The SAC is
    point-symmetric, SAC(-d) = SAC(d): the half with lags ``d_y >= 0`` is
    computed and mirrored.

    Parameters
    ----------
    ratemaps : array, shape (units, ny, nx) or (ny, nx)
        Rate maps, NaN where unvisited.
    min_overlap : int
        Lags with fewer pairs of visited bins are NaN.

    Returns
    -------
    array, shape (units, 2 ny - 1, 2 nx - 1)
        Correlations in [-1, 1]; the centre ``[ny - 1, nx - 1]`` is lag 0.
        NaN at lags with too few pairs and everywhere for maps that are
        constant or have no visited bin.
    """
    maps = _as_maps(ratemaps)
    if min_overlap < 2:
        raise ValueError(f"min_overlap must be >= 2, got {min_overlap}")
    units, ny, nx = maps.shape
    out = np.empty((units, 2 * ny - 1, 2 * nx - 1))
    step = _chunk_units(ny, nx)
    for start in range(0, units, step):
        chunk = slice(start, start + step)
        half = _half_autocorrelogram(maps[chunk], min_overlap)
        out[chunk, ny - 1 :] = half
        out[chunk, : ny - 1] = half[:, :0:-1, ::-1]
    return out


def _half_autocorrelogram(
    maps: np.ndarray, min_overlap: int, dtype=np.float64
) -> np.ndarray:
    """The SAC at lags with ``d_y >= 0``: shape (units, ny, 2 nx - 1), row
    ``d_y``, column ``d_x + nx - 1``."""
    units, ny, nx = maps.shape
    valid = np.isfinite(maps)

    # Standardise each map over its visited bins: the Pearson correlation is
    # unchanged, and the sums below stay O(1), which keeps FFT round-off
    # far below the correlations (a large baseline would otherwise cancel).
    count = valid.sum(axis=(1, 2))
    filled = np.where(valid, maps, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=(1, 2)) / count
        centred = np.where(valid, maps - mean[:, None, None], 0.0)
        scale = np.sqrt((centred**2).sum(axis=(1, 2)) / count)
        scale = np.where(scale > 0, scale, 1.0)
    x = (centred / scale[:, None, None]).astype(dtype, copy=False)

    # c_AB[d] = sum_p A[p] B[p + d], by zero-padded FFTs, circular in a
    # padded frame with no wrap-around. B is delayed by nx - 1 bins along x
    # (a phase factor), so lag d lands at row d_y, column d_x + nx - 1.
    shape = (scipy.fft.next_fast_len(2 * ny - 1), scipy.fft.next_fast_len(2 * nx - 1))
    kx = np.fft.rfftfreq(shape[1])
    delay = np.exp(-2j * np.pi * kx * (nx - 1)).astype(
        np.result_type(dtype, np.complex64)
    )
    if valid.all():
        # Along x first: only the ny rows that hold data need transforming.
        f_x = scipy.fft.fft(scipy.fft.rfft(x, n=shape[1], axis=2), axis=1, n=shape[0])
        power = f_x.real**2
        power += f_x.imag**2
        cross = _inverse_half(power * delay, ny, nx, shape)
        # Every bin visited: the overlap at lag d is a rectangle, so its
        # size and sums come from cumulative sums instead of more FFTs.
        pairs = np.outer(ny - np.arange(ny), nx - np.abs(np.arange(1 - nx, nx)))
        pairs = pairs[None].astype(dtype)
        ahead, behind = _half_overlap_sums(np.concatenate([x, x * x]))
        sum_x, sum_xx = ahead[:units], ahead[units:]
        sum_y, sum_yy = behind[:units], behind[units:]
    else:
        shared_mask = bool(np.all(valid == valid[:1]))
        mask = (valid[:1] if shared_mask else valid).astype(dtype)
        f_x = scipy.fft.rfft2(x, s=shape)
        f_xx = scipy.fft.rfft2(x * x, s=shape)
        f_mask = scipy.fft.rfft2(mask, s=shape)

        def correlate(f_a, f_b):
            return _inverse_half(np.conj(f_a) * f_b * delay, ny, nx, shape)

        cross = correlate(f_x, f_x)
        pairs = np.rint(correlate(f_mask, f_mask))  # integers up to rounding
        sum_x = correlate(f_x, f_mask)  # sum of m[p] over the overlap
        sum_y = correlate(f_mask, f_x)  # sum of m[p + d] over the overlap
        sum_xx = correlate(f_xx, f_mask)
        sum_yy = correlate(f_mask, f_xx)
    var_x = pairs * sum_xx
    var_x -= sum_x**2
    var_y = pairs * sum_yy
    var_y -= sum_y**2
    floor = _variance_floor(dtype) * pairs**2
    defined = (pairs >= min_overlap) & (var_x > floor) & (var_y > floor)
    with np.errstate(invalid="ignore", divide="ignore"):
        sac = pairs * cross
        sac -= sum_x * sum_y
        var_x *= var_y
        sac /= np.sqrt(var_x)
    np.clip(sac, -1.0, 1.0, out=sac)
    sac[~np.broadcast_to(defined, sac.shape)] = np.nan
    return np.broadcast_to(sac, (units,) + sac.shape[1:])


def _inverse_half(spectrum: np.ndarray, ny: int, nx: int, shape) -> np.ndarray:
    """Rows 0 .. ny - 1, columns 0 .. 2 nx - 2 of the real inverse 2-D FFT."""
    rows = scipy.fft.ifft(spectrum, axis=-2)[..., :ny, :]
    return scipy.fft.irfft(rows, n=shape[1], axis=-1)[..., : 2 * nx - 1]


def _half_overlap_sums(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Overlap sums of ``values`` at the lags with ``d_y >= 0``.

    Returns the sum of ``values[p]`` over the p with p + d in the map, and
    over the p with p - d in the map; each of shape (units, ny, 2 nx - 1),
    laid out as :func:`_half_autocorrelogram`'s SAC. Every overlap is a
    rectangle: a product along x, cumulative sums along y.
    """
    # Along x, for every lag d_x: the sum over the columns p_x with p_x + d_x
    # in the map, as one product with a 0/1 matrix (faster than cumulative
    # sums along the last axis).
    columns = values @ _lag_matrix(values.shape[2], values.dtype)
    # Along y: the first ny - d_y rows (p + d in the map) or the last ny - d_y
    # rows with the lag along x reversed (p - d in the map).
    rows = _cumulative_rows(columns)  # rows[r] = sum of columns[: r + 1]
    ahead = rows[:, ::-1]
    behind = np.empty_like(columns)
    behind[:, 0] = rows[:, -1]
    np.subtract(rows[:, -1:], rows[:, :-1], out=behind[:, 1:])
    behind = behind[..., ::-1]
    return ahead, behind


@functools.lru_cache(maxsize=32)
def _lag_matrix(n: int, dtype: np.dtype) -> np.ndarray:
    """(n, 2 n - 1) matrix, 1 where position p plus lag j - (n - 1) is in
    [0, n): ``values @ M`` sums, per lag, the positions that have a partner."""
    partner = np.arange(n)[:, None] + np.arange(1 - n, n)[None, :]
    return ((partner >= 0) & (partner < n)).astype(dtype)


def _cumulative_rows(values: np.ndarray) -> np.ndarray:
    """Cumulative sum along axis 1, a row at a time (about 3x faster than
    ``np.cumsum`` over a middle axis: each step is one contiguous add)."""
    out = np.empty_like(values)
    out[:, 0] = values[:, 0]
    for row in range(1, values.shape[1]):
        np.add(out[:, row - 1], values[:, row], out=out[:, row])
    return out


# --------------------------------------------------------------------------
# Grid scores


@dataclass(frozen=True, eq=False)  # hashed by identity, for the cache below
class _Geometry:
    """Annulus bins, rotations and masks for one SAC shape and bin aspect.

    Only half of each annulus is kept (lags with y > 0, or y = 0 and x > 0):
    a SAC is point-symmetric, SAC(-d) = SAC(d), and so is every rotated copy,
    so the other half repeats the same pairs of values and leaves each
    Pearson correlation unchanged.
    """

    annulus_bins: np.ndarray  # (P,) flat SAC indices of the half annulus
    rotation: scipy.sparse.csr_matrix  # (angles * P, sac bins) bilinear weights
    support: np.ndarray  # flat SAC indices the scores read
    annuli: np.ndarray  # (annuli, P) 1.0 where the bin is inside an annulus
    inside: np.ndarray  # (angles, P) True where the rotation stays in the SAC
    outer_radii: np.ndarray  # (annuli,) in units of the x bin width


@functools.lru_cache(maxsize=32)
def _matrices(geometry: _Geometry, dtype: np.dtype):
    """The rotation, the annuli, and the annuli restricted per angle to the
    bins whose rotation stays in the SAC, in ``dtype`` (made once)."""
    annuli = geometry.annuli.astype(dtype)
    return (
        geometry.rotation.astype(dtype),
        annuli,
        annuli[None] * geometry.inside[:, None, :].astype(dtype),
    )


@functools.lru_cache(maxsize=16)
def _geometry(ny: int, nx: int, aspect: float) -> _Geometry:
    """Geometry for (ny, nx) maps whose bins are ``aspect`` x-bins tall."""
    height, width = 2 * ny - 1, 2 * nx - 1
    # Lag coordinates in units of the x bin width.
    lag_y = (np.arange(height) - (ny - 1)) * aspect
    lag_x = np.arange(width) - (nx - 1.0)
    radius = np.hypot(lag_y[:, None], lag_x[None, :])
    half = (lag_y[:, None] > 0) | ((lag_y[:, None] == 0) & (lag_x[None, :] > 0))
    radius, half = radius.ravel(), half.ravel()
    side = min(nx, ny * aspect)
    inner = ANNULUS_INNER_FRACTION * side
    outer = np.asarray(ANNULUS_OUTER_FRACTIONS) * side
    tolerance = 1e-9 * side
    inside = half & (radius > inner + tolerance) & (radius <= outer[-1] + tolerance)
    bins = np.flatnonzero(inside)
    annuli = (radius[bins][None, :] <= outer[:, None] + tolerance).astype(float)

    # Bilinear weights: rotated(u) = sac(R(-angle) u), in physical lag space.
    py, px = lag_y[bins // width], lag_x[bins % width]
    rows, cols, weights = [], [], []
    for k, angle in enumerate(np.deg2rad(ROTATION_ANGLES_DEG)):
        cos, sin = np.cos(angle), np.sin(angle)
        src_x = cos * px + sin * py + (nx - 1)
        src_y = (-sin * px + cos * py) / aspect + (ny - 1)
        x0, y0 = np.floor(src_x), np.floor(src_y)
        tx, ty = src_x - x0, src_y - y0
        for dy, dx, weight in (
            (0, 0, (1 - ty) * (1 - tx)),
            (0, 1, (1 - ty) * tx),
            (1, 0, ty * (1 - tx)),
            (1, 1, ty * tx),
        ):
            iy, ix = (y0 + dy).astype(np.intp), (x0 + dx).astype(np.intp)
            ok = (iy >= 0) & (iy < height) & (ix >= 0) & (ix < width)
            rows.append(k * len(bins) + np.flatnonzero(ok))
            cols.append(iy[ok] * width + ix[ok])
            weights.append(weight[ok])
    angles = len(ROTATION_ANGLES_DEG)
    rotation = scipy.sparse.csr_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))),
        shape=(angles * len(bins), height * width),
    )
    rotation.sum_duplicates()
    in_box = np.asarray(rotation.sum(axis=1)).reshape(angles, len(bins))
    support = np.union1d(bins, rotation.indices)
    return _Geometry(bins, rotation, support, annuli, in_box >= _WEIGHT_FLOOR, outer)


@functools.lru_cache(maxsize=16)
def _half_geometry(ny: int, nx: int, aspect: float) -> _Geometry:
    """:func:`_geometry` for the half SACs of :func:`_half_autocorrelogram`:
    every lag with d_y < 0 is read at -d (SAC(-d) = SAC(d))."""
    full = _geometry(ny, nx, aspect)
    width = 2 * nx - 1
    iy, ix = np.divmod(np.arange((2 * ny - 1) * width), width)
    fold = np.where(
        iy >= ny - 1,
        (iy - (ny - 1)) * width + ix,
        (ny - 1 - iy) * width + (width - 1 - ix),
    )
    rotation = scipy.sparse.csr_matrix(
        (
            full.rotation.data.copy(),  # sum_duplicates works in place
            fold[full.rotation.indices],
            full.rotation.indptr.copy(),
        ),
        shape=(full.rotation.shape[0], ny * width),
    )
    rotation.sum_duplicates()
    return dataclasses.replace(
        full,
        annulus_bins=fold[full.annulus_bins],
        rotation=rotation,
        support=np.unique(fold[full.support]),
    )


def grid_scores(
    ratemaps=None,
    *,
    sac=None,
    bin_size=None,
    form: str = DEFAULT_FORM,
    min_overlap: int = MIN_OVERLAP_BINS,
    dtype=np.float64,
    workers: int | None = None,
) -> dict[str, np.ndarray]:
    """60- and 90-degree grid scores of rate maps or of their SACs.

    Parameters
    ----------
    ratemaps : array, shape (units, ny, nx), optional
        Rate maps (NaN where unvisited); their SACs are computed with
        :func:`autocorrelogram`. Give either this or ``sac``.
    sac : array, shape (units, 2 ny - 1, 2 nx - 1), optional
        Precomputed autocorrelograms.
    bin_size : float or (float, float), optional
        Bin size (m), or ``(along y, along x)``; only the ratio matters here.
        Square bins when omitted.
    form : {"minmax", "mean"}
        60-degree score form (see the module docstring).
    min_overlap : int
        Passed to :func:`autocorrelogram`.
    dtype : numpy float type
        Precision of the SACs and correlations. ``numpy.float32`` is about
        twice as fast and changes scores by ~1e-5 (used for null surrogates);
        the default keeps full precision.
    workers : int, optional
        Threads that score chunks of maps at once (numpy and scipy release
        the interpreter lock in the heavy work); default: one per CPU core
        available to the process. Results do not depend on it.

    Returns
    -------
    dict of arrays, each of shape (units,) unless stated
        ``score_60``, ``score_90``: NaN where undefined (constant, dead or
        unvisited maps). ``annulus_60``, ``annulus_90``: index (0-9) of the
        annulus that gave each score, -1 where undefined.
        ``annulus_outer_fraction``: (10,) outer radii as fractions of the
        shorter box side. ``correlations_60``: (units, 7), the correlations
        with the SAC rotated by ``ROTATION_ANGLES_DEG`` in the annulus of the
        60-degree score.
    """
    check_form(form)
    if (ratemaps is None) == (sac is None):
        raise ValueError("give exactly one of ratemaps and sac")
    if sac is None:
        # Stream: the SACs of a chunk are scored and dropped, so memory stays
        # bounded however many maps (null surrogates) come in.
        # Single-precision maps (null surrogates) scored in single precision
        # are standardised in it too.
        maps = _as_maps(ratemaps, keep_single=np.dtype(dtype) == np.float32)
        if min_overlap < 2:
            raise ValueError(f"min_overlap must be >= 2, got {min_overlap}")
        units, ny, nx = maps.shape

        def sac_chunk(chunk):
            half = _half_autocorrelogram(maps[chunk], min_overlap, dtype)
            return half.reshape(half.shape[0], -1)

        half = True

    else:
        sac = np.asarray(sac, dtype=float)
        if sac.ndim == 2:
            sac = sac[None]
        if sac.ndim != 3 or sac.shape[1] % 2 == 0 or sac.shape[2] % 2 == 0:
            raise ValueError(
                f"sac must have shape (units, 2 ny - 1, 2 nx - 1), got {sac.shape}"
            )
        units, ny, nx = sac.shape[0], (sac.shape[1] + 1) // 2, (sac.shape[2] + 1) // 2
        flat = sac.reshape(units, -1)

        def sac_chunk(chunk):
            return flat[chunk]

        half = False

    bin_y, bin_x = _bin_size(bin_size)
    geometry = (_half_geometry if half else _geometry)(ny, nx, round(bin_y / bin_x, 12))
    angles = len(ROTATION_ANGLES_DEG)
    out = {
        "score_60": np.full(units, np.nan),
        "score_90": np.full(units, np.nan),
        "annulus_60": np.full(units, -1),
        "annulus_90": np.full(units, -1),
        "correlations_60": np.full((units, angles), np.nan),
    }

    def score(chunk):
        correlations = _annulus_correlations(sac_chunk(chunk), geometry, dtype)
        return chunk, _scores_from_correlations(correlations, form)

    step = _chunk_units(ny, nx)
    chunks = [slice(start, start + step) for start in range(0, units, step)]
    for chunk, scored in parallel_map(score, chunks, workers):
        for key, value in scored.items():
            out[key][chunk] = value
    out["annulus_outer_fraction"] = np.asarray(ANNULUS_OUTER_FRACTIONS)
    return out


def _annulus_correlations(
    flat_sac: np.ndarray, geometry: _Geometry, dtype=np.float64
) -> np.ndarray:
    """Pearson correlations of SAC and rotated SAC, shape (angles, annuli, units)."""
    angles = len(ROTATION_ANGLES_DEG)
    count = len(geometry.annulus_bins)
    valid = np.isfinite(flat_sac)
    filled = np.ascontiguousarray(np.where(valid, flat_sac, 0.0).T, dtype=dtype)
    s = filled[geometry.annulus_bins]  # (P, units)
    rotation, annuli, annuli_inside = _matrices(geometry, np.dtype(dtype))
    rotated = (rotation @ filled).reshape(angles, count, -1)

    # Sums over each annulus (nested annuli: a matrix of indicators) of the
    # pairs where both the SAC and its rotated copy are defined.
    if valid[:, geometry.support].all():
        # Every value read is defined: which pairs count depends only on the
        # geometry, so it is folded into the annulus matrices.
        annuli = annuli_inside
        n = annuli.sum(axis=2)[..., None]
        sum_s = annuli @ s
        sum_ss = annuli @ (s * s)
        sum_r = annuli @ rotated
        sum_rr = annuli @ (rotated * rotated)
        sum_sr = annuli @ (s * rotated)
    else:
        weight = rotation @ valid.T.astype(dtype)
        both = (weight.reshape(angles, count, -1) >= _WEIGHT_FLOOR) & valid.T[
            geometry.annulus_bins
        ][None]
        both = both.astype(dtype)
        rotated *= both
        s_both = s * both
        n = annuli @ both
        sum_s = annuli @ s_both
        sum_r = annuli @ rotated
        sum_ss = annuli @ (s_both * s)
        sum_rr = annuli @ (rotated * rotated)
        sum_sr = annuli @ (s_both * rotated)

    var_s = n * sum_ss - sum_s**2
    var_r = n * sum_rr - sum_r**2
    floor = _variance_floor(dtype) * n**2
    defined = (n >= 2) & (var_s > floor) & (var_r > floor)
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = (n * sum_sr - sum_s * sum_r) / np.sqrt(var_s * var_r)
    return np.where(defined, correlation, np.nan)


def _scores_from_correlations(c: np.ndarray, form: str) -> dict[str, np.ndarray]:
    """Scores from correlations of shape (angles, annuli, units)."""
    a = {angle: c[k] for angle, k in _ANGLE.items()}
    if form == "minmax":
        score_60 = np.minimum(a[60], a[120]) - np.maximum(
            np.maximum(a[30], a[90]), a[150]
        )
    else:
        score_60 = (a[60] + a[120]) / 2 - (a[30] + a[90] + a[150]) / 3
    score_90 = a[90] - (a[45] + a[135]) / 2

    out = {}
    for name, score in (("60", score_60), ("90", score_90)):
        defined = np.any(np.isfinite(score), axis=0)
        best = np.argmax(np.where(np.isfinite(score), score, -np.inf), axis=0)
        units = np.arange(score.shape[1])
        out[f"score_{name}"] = np.where(defined, score[best, units], np.nan)
        out[f"annulus_{name}"] = np.where(defined, best, -1)
        if name == "60":
            out["correlations_60"] = np.where(
                defined[:, None], c[:, best, units].T, np.nan
            )
    return out


# --------------------------------------------------------------------------
# Grid period and orientation


def _quadratic_fit_matrix() -> np.ndarray:
    """Least-squares map from a 3 x 3 patch to (b_x, b_y, a_xx, a_yy, a_xy)."""
    y, x = np.mgrid[-1:2, -1:2].reshape(2, -1).astype(float)
    design = np.stack([np.ones(9), x, y, x * x, y * y, x * y], axis=1)
    return np.linalg.pinv(design)[1:]  # (5, 9)


_QUADRATIC_FIT = _quadratic_fit_matrix()


def sac_peaks(sac, *, bin_size=None, peaks: int = PEAKS_FOR_PERIOD):
    """Sub-bin positions of the SAC peaks nearest the centre.

    The central field ends at the first ring around the centre whose mean
    correlation is at most ``MIN_PEAK_CORRELATION``; its radius r0 sets the
    neighbourhood. Peaks lie beyond r0, not on the border, above
    ``MIN_PEAK_CORRELATION``, and are maxima over a rectangle of half-side
    r0 around them (at least one bin). Each is refined to the maximum of a
    least-squares quadratic through its 3 x 3 neighbourhood (kept at the bin
    if the fit has no maximum within one bin).

    Parameters
    ----------
    sac : array, shape (units, 2 ny - 1, 2 nx - 1)
    bin_size : float or (float, float), optional
        Bin size (m) or ``(along y, along x)``; 1 (lengths in bins) if
        omitted.
    peaks : int
        How many of the nearest peaks to return.

    Returns
    -------
    dy, dx : arrays, shape (units, peaks)
        Lag of each peak (m) along y and x, nearest first; NaN where a map
        has fewer peaks.
    """
    sac = np.asarray(sac, dtype=float)
    if sac.ndim == 2:
        sac = sac[None]
    if sac.ndim != 3:
        raise ValueError(f"sac must have shape (units, height, width), got {sac.shape}")
    units, height, width = sac.shape
    bin_y, bin_x = _bin_size(bin_size)
    cy, cx = (height - 1) // 2, (width - 1) // 2

    iy, ix = np.mgrid[0:height, 0:width]
    distance = np.hypot((iy - cy) * bin_y, (ix - cx) * bin_x).ravel()
    central = _central_radius(sac.reshape(units, -1), distance, min(bin_y, bin_x))

    # Peaks: maxima over a neighbourhood as wide as the central field (in a
    # hexagonal lattice about a third of the period, so one lattice peak per
    # neighbourhood) and beyond it; noise in unsmoothed maps makes small
    # local maxima everywhere that are not lattice peaks. One vectorised
    # filter per distinct neighbourhood size.
    finite = np.where(np.isfinite(sac), sac, -np.inf)
    half_y = np.clip(np.nan_to_num(central / bin_y, posinf=1), 1, height).astype(int)
    half_x = np.clip(np.nan_to_num(central / bin_x, posinf=1), 1, width).astype(int)
    sizes, group = np.unique(np.stack([half_y, half_x], 1), axis=0, return_inverse=True)
    is_peak = np.zeros(sac.shape, dtype=bool)
    for k, (hy, hx) in enumerate(sizes):
        members = np.flatnonzero(group.ravel() == k)
        block = finite[members]
        neighbourhood = scipy.ndimage.maximum_filter(
            block, size=(1, 2 * hy + 1, 2 * hx + 1), mode="constant", cval=-np.inf
        )
        is_peak[members] = (block >= neighbourhood) & (block > MIN_PEAK_CORRELATION)
    is_peak[:, [0, -1], :] = False
    is_peak[:, :, [0, -1]] = False
    is_peak = is_peak.reshape(units, -1) & (distance[None] > central[:, None])

    # The nearest ones, by physical distance from the centre (peaks are
    # sparse: sort the list of all of them by unit, then distance).
    unit_of, bin_of = np.nonzero(is_peak)
    order = np.lexsort((distance[bin_of], unit_of))
    unit_of, bin_of = unit_of[order], bin_of[order]
    rank = np.arange(unit_of.size) - np.searchsorted(unit_of, unit_of)
    keep = rank < peaks
    nearest = np.zeros((units, peaks), dtype=np.intp)
    found = np.zeros((units, peaks), dtype=bool)
    nearest[unit_of[keep], rank[keep]] = bin_of[keep]
    found[unit_of[keep], rank[keep]] = True
    py, px = np.divmod(nearest, width)

    # Quadratic refinement on the 3 x 3 patch around every peak.
    oy, ox = np.mgrid[-1:2, -1:2].reshape(2, -1)
    patch_y = np.clip(py[..., None] + oy, 0, height - 1)
    patch_x = np.clip(px[..., None] + ox, 0, width - 1)
    unit = np.arange(units)[:, None, None]
    patch = finite[unit, patch_y, patch_x]  # (units, peaks, 9)
    ok = found & np.all(np.isfinite(patch), axis=-1)
    bx, by, axx, ayy, axy = np.moveaxis(
        np.where(ok[..., None], patch, 0.0) @ _QUADRATIC_FIT.T, -1, 0
    )
    # Stationary point of the quadratic: H [x, y] = -[bx, by].
    det = 4 * axx * ayy - axy**2
    with np.errstate(invalid="ignore", divide="ignore"):
        shift_x = (-2 * ayy * bx + axy * by) / det
        shift_y = (-2 * axx * by + axy * bx) / det
    maximum = (axx < 0) & (det > 0)
    refine = ok & maximum & (np.abs(shift_x) <= 1) & (np.abs(shift_y) <= 1)
    shift_x = np.where(refine, shift_x, 0.0)
    shift_y = np.where(refine, shift_y, 0.0)

    dy = np.where(found, (py + shift_y - cy) * bin_y, np.nan)
    dx = np.where(found, (px + shift_x - cx) * bin_x, np.nan)
    return dy, dx


def _central_radius(flat_sac, distance, ring_width) -> np.ndarray:
    """Radius (m) where each SAC's ring average first drops to 0 or below.

    Parameters
    ----------
    flat_sac : array, shape (units, bins)
    distance : array, shape (bins,)
        Distance (m) of every SAC bin from the centre.
    ring_width : float
        Width (m) of the rings averaged over.

    Returns
    -------
    array, shape (units,)
        The inner edge of the first ring whose mean correlation is at most
        ``MIN_PEAK_CORRELATION``; infinite if there is none.
    """
    ring = np.floor(distance / ring_width + 0.5).astype(np.intp)
    rings = ring.max() + 1
    indicator = scipy.sparse.csr_matrix(
        (np.ones(ring.size), (np.arange(ring.size), ring)), shape=(ring.size, rings)
    )
    valid = np.isfinite(flat_sac)
    sums = np.asarray(indicator.T @ np.where(valid, flat_sac, 0.0).T).T
    counts = np.asarray(indicator.T @ valid.T.astype(float)).T
    with np.errstate(invalid="ignore", divide="ignore"):
        profile = sums / counts  # (units, rings); NaN where a ring is empty
    below = profile <= MIN_PEAK_CORRELATION
    first = np.argmax(below, axis=1)
    return np.where(below.any(axis=1), (first - 0.5) * ring_width, np.inf)


def grid_period_orientation(sac, *, bin_size=None):
    """Grid period and orientation from the six SAC peaks nearest the centre.

    Parameters
    ----------
    sac : array, shape (units, 2 ny - 1, 2 nx - 1)
    bin_size : float or (float, float), optional
        Bin size (m) or ``(along y, along x)``; lengths in bins if omitted.

    Returns
    -------
    grid_period : array, shape (units,)
        Median distance (m) from the centre to the six nearest peaks; NaN if
        fewer than six peaks exist. Reported whatever the score: a map with
        a low grid score has a number here that means little.
    orientation : array, shape (units,)
        Angle (degrees) of those peaks measured from the +x axis towards +y
        (columns are x, rows are y), folded to [0, 60) and averaged on the
        60-degree circle (the angle of the mean of exp(6 i theta), divided
        by 6); NaN where the period is.
    """
    dy, dx = sac_peaks(sac, bin_size=bin_size, peaks=PEAKS_FOR_PERIOD)
    complete = np.all(np.isfinite(dy), axis=1)
    distance = np.hypot(dy, dx)
    grid_period = np.where(
        complete, np.median(np.where(complete[:, None], distance, 0), axis=1), np.nan
    )
    theta = np.arctan2(dy, dx)
    mean = np.where(complete[:, None], np.exp(6j * theta), 0).mean(axis=1)
    orientation = np.mod(np.rad2deg(np.angle(mean)) / 6, 60.0)
    orientation = np.where(complete & (np.abs(mean) > 0), orientation, np.nan)
    return grid_period, orientation


# --------------------------------------------------------------------------
# Everything at once


def score_maps(
    ratemaps,
    *,
    box_width: float,
    box_height: float | None = None,
    form: str = DEFAULT_FORM,
    min_overlap: int = MIN_OVERLAP_BINS,
    return_sac: bool = False,
) -> dict[str, np.ndarray]:
    """Grid scores, period and orientation of every rate map.

    Parameters
    ----------
    ratemaps : array, shape (units, ny, nx) or (ny, nx)
        Rate maps, rows along y and columns along x, NaN where unvisited.
    box_width, box_height : float
        Box side lengths along x and y (m); ``box_height`` defaults to
        ``box_width``. The bin size is ``(box_height / ny, box_width / nx)``.
    form : {"minmax", "mean"}
        60-degree score form.
    min_overlap : int
        Minimum pairs of visited bins per SAC lag.
    return_sac : bool
        Also return the autocorrelograms under ``"sac"``.

    Returns
    -------
    dict of arrays of shape (units,) unless stated
        ``score_60``, ``score_90``: grid scores (NaN where undefined).
        ``grid_period``: metres. ``orientation``: degrees in [0, 60).
        ``annulus_radius_60``, ``annulus_radius_90``: outer radius (m) of the
        annulus that gave each score. ``correlations_60``: (units, 7).
        ``sac`` (units, 2 ny - 1, 2 nx - 1) if asked for.
    """
    check_form(form)
    maps = _as_maps(ratemaps)
    box_height = box_width if box_height is None else box_height
    for name, value in (("box_width", box_width), ("box_height", box_height)):
        if value is None or not np.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a positive length (m), got {value}")
    _, ny, nx = maps.shape
    bin_size = (box_height / ny, box_width / nx)

    sac = autocorrelogram(maps, min_overlap=min_overlap)
    scores = grid_scores(sac=sac, bin_size=bin_size, form=form)
    grid_period, orientation = grid_period_orientation(sac, bin_size=bin_size)
    side = min(box_width, box_height)
    outer = np.asarray(ANNULUS_OUTER_FRACTIONS) * side
    out = {
        "score_60": scores["score_60"],
        "score_90": scores["score_90"],
        "grid_period": grid_period,
        "orientation": orientation,
        "annulus_radius_60": _radius(outer, scores["annulus_60"]),
        "annulus_radius_90": _radius(outer, scores["annulus_90"]),
        "correlations_60": scores["correlations_60"],
    }
    if return_sac:
        out["sac"] = sac
    return out


def _radius(outer: np.ndarray, index: np.ndarray) -> np.ndarray:
    return np.where(index >= 0, outer[np.clip(index, 0, None)], np.nan)


def _as_maps(ratemaps, *, keep_single: bool = False) -> np.ndarray:
    """Maps as a (units, ny, nx) float64 array (float32 input stays float32
    with ``keep_single``)."""
    maps = np.asarray(ratemaps)
    if not (keep_single and maps.dtype == np.float32):
        maps = maps.astype(float, copy=False)
    if maps.ndim == 2:
        maps = maps[None]
    if maps.ndim != 3 or min(maps.shape[1:]) < 2:
        raise ValueError(
            "ratemaps must have shape (units, ny, nx) with ny, nx >= 2, "
            f"got {maps.shape}"
        )
    return maps


def _bin_size(bin_size) -> tuple[float, float]:
    if bin_size is None:
        return 1.0, 1.0
    bin_y, bin_x = np.broadcast_to(np.asarray(bin_size, dtype=float), (2,))
    if not (np.isfinite(bin_y) and np.isfinite(bin_x)) or bin_y <= 0 or bin_x <= 0:
        raise ValueError(f"bin_size must be positive (m), got {bin_size!r}")
    return float(bin_y), float(bin_x)
