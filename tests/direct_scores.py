"""A slow, direct implementation of the grid-score method, for checking.

Explicit loops over lags, annuli and angles, ``np.corrcoef`` for every
Pearson correlation and ``scipy.ndimage.rotate`` (bilinear) for rotations:
nothing shared with :mod:`validate.scores` but the definition of the method.
Square bins only.
"""

import numpy as np
import scipy.ndimage

ANGLES = (30, 45, 60, 90, 120, 135, 150)


def direct_sac(ratemap, min_overlap=20):
    """Pearson correlation over pairs of visited bins at every integer lag."""
    ny, nx = ratemap.shape
    sac = np.full((2 * ny - 1, 2 * nx - 1), np.nan)
    for dy in range(-(ny - 1), ny):
        for dx in range(-(nx - 1), nx):
            # a[p] = m[p], b[p] = m[p + d] over the p where both exist.
            a = ratemap[max(0, -dy) : ny - max(0, dy), max(0, -dx) : nx - max(0, dx)]
            b = ratemap[max(0, dy) : ny - max(0, -dy), max(0, dx) : nx - max(0, -dx)]
            ok = np.isfinite(a) & np.isfinite(b)
            if ok.sum() < min_overlap:
                continue
            x, y = a[ok], b[ok]
            if np.ptp(x) == 0 or np.ptp(y) == 0:
                continue
            sac[dy + ny - 1, dx + nx - 1] = np.corrcoef(x, y)[0, 1]
    return sac


def direct_scores(ratemap, form="minmax", min_overlap=20):
    """(score_60, score_90) of one map, Banino et al.'s layout, max over annuli."""
    ny, nx = ratemap.shape
    sac = direct_sac(ratemap, min_overlap)
    n = min(ny, nx)
    yy, xx = np.indices(sac.shape)
    radius = np.hypot(yy - (ny - 1), xx - (nx - 1))
    rotated = {
        angle: scipy.ndimage.rotate(
            sac, angle, reshape=False, order=1, mode="constant", cval=np.nan
        )
        for angle in ANGLES
    }
    best_60 = best_90 = np.nan
    for outer in np.linspace(0.4, 1.0, 10):
        ring = (radius > 0.2 * n + 1e-9) & (radius <= outer * n + 1e-9)
        c = {}
        for angle in ANGLES:
            ok = ring & np.isfinite(sac) & np.isfinite(rotated[angle])
            x, y = sac[ok], rotated[angle][ok]
            if ok.sum() < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
                c[angle] = np.nan
            else:
                c[angle] = np.corrcoef(x, y)[0, 1]
        if form == "minmax":
            s60 = min(c[60], c[120]) - max(c[30], c[90], c[150])
        else:
            s60 = (c[60] + c[120]) / 2 - (c[30] + c[90] + c[150]) / 3
        s90 = c[90] - (c[45] + c[135]) / 2
        if np.isfinite(s60) and not s60 <= best_60:
            best_60 = s60
        if np.isfinite(s90) and not s90 <= best_90:
            best_90 = s90
    return best_60, best_90
