"""Rate maps: binning, NaN policy, orientation of axes, smoothing."""

import numpy as np
import pytest

from validate.ratemaps import bin_counts, compute_ratemaps, smooth_ratemaps


def direct_ratemaps(positions, activations, width, height, ny, nx, min_occupancy=1):
    """Explicit loop over samples: the definition of a rate map."""
    sums = np.zeros((activations.shape[1], ny, nx))
    counts = np.zeros((ny, nx))
    for (x, y), activity in zip(positions, activations, strict=True):
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        ix = min(max(int(np.floor((x + width / 2) / (width / nx))), 0), nx - 1)
        iy = min(max(int(np.floor((y + height / 2) / (height / ny))), 0), ny - 1)
        sums[:, iy, ix] += activity
        counts[iy, ix] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        maps = sums / counts
    maps[:, counts < min_occupancy] = np.nan
    return maps


def test_matches_direct_binning(rng):
    width, height, ny, nx = 2.2, 1.5, 7, 9
    positions = rng.uniform(
        [-width / 2, -height / 2], [width / 2, height / 2], (500, 2)
    )
    positions[::37] = np.nan
    activations = rng.normal(size=(500, 5))
    expected = direct_ratemaps(positions, activations, width, height, ny, nx, 3)
    maps = compute_ratemaps(
        positions,
        activations,
        box_width=width,
        box_height=height,
        bins=(ny, nx),
        min_occupancy=3,
    )
    assert maps.shape == (5, ny, nx)
    np.testing.assert_array_equal(np.isnan(maps), np.isnan(expected))
    np.testing.assert_allclose(maps, expected, rtol=1e-12, atol=1e-12)


def test_rows_are_y_and_columns_are_x():
    # One sample near the top-left corner (x = -w/2, y = +h/2).
    maps = compute_ratemaps(
        [[-0.99, 0.49]], [[5.0]], box_width=2.0, box_height=1.0, bins=(4, 8)
    )
    assert maps[0, 3, 0] == 5.0
    assert np.isnan(maps).sum() == 4 * 8 - 1


def test_mean_per_bin_and_unvisited_nan():
    positions = [[-0.4, -0.4], [-0.4, -0.4], [0.4, 0.4], [np.nan, 0.0]]
    activations = [[1.0, 0.0], [3.0, 2.0], [7.0, 1.0], [100.0, 100.0]]
    maps = compute_ratemaps(positions, activations, box_width=1.0, bins=2)
    np.testing.assert_array_equal(maps[:, 0, 0], [2.0, 1.0])
    np.testing.assert_array_equal(maps[:, 1, 1], [7.0, 1.0])
    assert np.isnan(maps[:, 0, 1]).all() and np.isnan(maps[:, 1, 0]).all()


def test_bin_size_sets_counts():
    assert bin_counts(box_width=2.2, bin_size=0.05) == (44, 44)
    assert bin_counts(box_width=2.2, box_height=1.0, bin_size=0.1) == (10, 22)
    assert bin_counts(box_width=1.0, bins=(3, 5)) == (3, 5)
    maps = compute_ratemaps(
        np.zeros((1, 2)), np.ones((1, 1)), box_width=2.2, bin_size=0.05
    )
    assert maps.shape == (1, 44, 44)


def test_smoothing_keeps_constants_and_nans(rng):
    maps = np.full((2, 12, 10), 4.0)
    maps[:, rng.random((12, 10)) < 0.3] = np.nan
    smoothed = smooth_ratemaps(maps, sigma_bins=1.5)
    np.testing.assert_array_equal(np.isnan(smoothed), np.isnan(maps))
    np.testing.assert_allclose(smoothed[np.isfinite(smoothed)], 4.0)


def test_smoothing_is_a_normalised_gaussian_average():
    # A single spike in a fully visited map spreads as a normalised Gaussian
    # (weights renormalised near the walls): the total is preserved only
    # away from the walls, and the value at the spike is 1 / (2 pi sigma^2)
    # for a wide map and sigma of a few bins.
    sigma = 2.0
    maps = np.zeros((1, 41, 41))
    maps[0, 20, 20] = 1.0
    smoothed = smooth_ratemaps(maps, sigma_bins=sigma)
    assert smoothed.sum() == pytest.approx(1.0, rel=1e-6)
    assert smoothed[0, 20, 20] == pytest.approx(1 / (2 * np.pi * sigma**2), rel=0.02)


def test_smooth_sigma_is_in_metres(rng):
    # 0.2 m is 2 bins along x (0.1 m bins) and 4 bins along y (0.05 m bins).
    positions = rng.uniform(-0.5, 0.5, (400, 2)) * [2.0, 1.0]
    activations = rng.random((400, 3))
    kwargs = dict(box_width=2.0, box_height=1.0, bins=20)
    raw = compute_ratemaps(positions, activations, **kwargs)
    smoothed = compute_ratemaps(positions, activations, smooth_sigma=0.2, **kwargs)
    expected = smooth_ratemaps(raw, sigma_bins=(4.0, 2.0))
    np.testing.assert_allclose(smoothed, expected)
    assert not np.allclose(smoothed, raw, equal_nan=True)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"box_width": 0.0},
        {"box_width": 1.0, "box_height": -1.0},
        {"box_width": 1.0, "bins": 0},
        {"box_width": 1.0, "bin_size": 0.0},
        {"box_width": 1.0, "min_occupancy": 0},
        {"box_width": 1.0, "smooth_sigma": -0.1},
    ],
)
def test_bad_arguments_name_themselves(kwargs):
    name = next(key for key in kwargs if key != "box_width" or len(kwargs) == 1)
    with pytest.raises(ValueError, match=name):
        compute_ratemaps(np.zeros((3, 2)), np.zeros((3, 1)), **kwargs)


def test_bad_shapes():
    with pytest.raises(ValueError, match="positions"):
        compute_ratemaps(np.zeros((3, 3)), np.zeros((3, 1)), box_width=1.0)
    with pytest.raises(ValueError, match="activations"):
        compute_ratemaps(np.zeros((3, 2)), np.zeros((4, 1)), box_width=1.0)
