"""Autocorrelograms, grid scores, period and orientation.

Expected values come from geometry (analytic lattices of known period and
orientation) or from the slow direct implementation in ``direct_scores``.
"""

import warnings

import numpy as np
import pytest

from tests.analytic_maps import hexagonal_map, square_map, stripes_map
from tests.direct_scores import direct_sac, direct_scores
from validate import scores as scores_module
from validate.scores import (
    autocorrelogram,
    grid_period_orientation,
    grid_scores,
    score_maps,
)

BOX = 1.0  # m


def angle_difference(a, b, period=60.0):
    """Signed difference of angles on a circle of the given period (degrees)."""
    return (a - b + period / 2) % period - period / 2


# --------------------------------------------------------------------------
# Autocorrelogram


def test_sac_matches_direct_pearson_with_nans(rng):
    maps = rng.normal(size=(3, 9, 12)) + 5.0
    maps[rng.random(maps.shape) < 0.25] = np.nan
    maps[2, :4, :5] = np.nan
    sac = autocorrelogram(maps, min_overlap=5)
    assert sac.shape == (3, 17, 23)
    for unit in range(3):
        expected = direct_sac(maps[unit], min_overlap=5)
        np.testing.assert_array_equal(np.isnan(sac[unit]), np.isnan(expected))
        np.testing.assert_allclose(sac[unit], expected, atol=1e-10)


def test_sac_centre_is_one_and_symmetric(rng):
    maps = rng.random((2, 10, 10))
    sac = autocorrelogram(maps)
    np.testing.assert_allclose(sac[:, 9, 9], 1.0)
    np.testing.assert_allclose(sac, sac[:, ::-1, ::-1], atol=1e-12)


def test_sac_excludes_unvisited_bins_instead_of_zero_filling():
    # Visited half: a ramp along x; NaN half. Zero-filling would correlate
    # the ramp with zeros; excluding them keeps a perfect correlation at
    # every lag along y within the visited half.
    ramp = np.tile(np.arange(12.0) + 10, (12, 1))
    ramp[6:] = np.nan
    sac = autocorrelogram(ramp, min_overlap=2)[0]
    np.testing.assert_allclose(sac[11 + np.arange(-5, 6), 11], 1.0)


def test_sac_of_constant_dead_and_empty_maps_is_nan():
    maps = np.stack([np.zeros((8, 8)), np.full((8, 8), 2.5), np.full((8, 8), np.nan)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sac = autocorrelogram(maps)
    assert np.isnan(sac).all()


# --------------------------------------------------------------------------
# Grid period and orientation of perfect lattices


@pytest.mark.parametrize("bins", [20, 32, 44])
@pytest.mark.parametrize(
    ("grid_period", "orientation"),
    [(0.3, 0.0), (0.3, 13.0), (0.35, 37.0), (0.35, 51.0)],
)
def test_hexagonal_period_and_orientation(bins, grid_period, orientation):
    ratemap = hexagonal_map((bins, bins), grid_period, orientation)
    result = score_maps(ratemap, box_width=BOX)
    assert result["grid_period"][0] == pytest.approx(grid_period, rel=0.01)
    assert abs(angle_difference(result["orientation"][0], orientation)) < 1.0
    assert 0 <= result["orientation"][0] < 60
    assert result["score_60"][0] > 1.0


def test_period_of_noisy_unsmoothed_maps(rng):
    # White noise with six times the lattice's variance makes local maxima
    # all over the SAC; only the lattice peaks are maxima over the central
    # field's width. (Plain 3 x 3 maxima miss by over 10% on a fifth of
    # these maps.)
    orientations = rng.uniform(0, 60, 40)
    maps = np.stack(
        [hexagonal_map((44, 44), 0.5, angle, box=(2.2, 2.2)) for angle in orientations]
    )
    noisy = maps + rng.normal(0, 3.0, maps.shape)
    result = score_maps(noisy, box_width=2.2)
    error = np.abs(result["grid_period"] / 0.5 - 1)
    assert np.median(error) < 0.04
    assert np.mean(error > 0.1) <= 0.05
    turn = np.abs(angle_difference(result["orientation"], orientations))
    assert np.median(turn) < 2.0


def test_orientation_fold():
    # Orientations 10, 70 and -50 degrees describe the same lattice.
    maps = np.stack([hexagonal_map((32, 32), 0.3, angle) for angle in (10, 70, -50)])
    _, orientation = grid_period_orientation(autocorrelogram(maps), bin_size=1 / 32)
    np.testing.assert_allclose(orientation, 10.0, atol=1.0)


def test_period_in_metres_uses_box_size():
    ratemap = hexagonal_map((32, 32), 0.6, 20.0, box=(2.0, 2.0))
    result = score_maps(ratemap, box_width=2.0)
    assert result["grid_period"][0] == pytest.approx(0.6, rel=0.01)


@pytest.mark.parametrize(
    ("shape", "box"),
    [((30, 44), (1.5, 2.2)), ((20, 40), (1.0, 1.0)), ((40, 24), (2.0, 1.0))],
)
def test_non_square_maps_and_bins(shape, box):
    # Square box with rectangular bins included: the rotation must happen
    # in metres, not in bins.
    ratemap = hexagonal_map(shape, 0.3, 35.0, box=box)
    result = score_maps(ratemap, box_width=box[1], box_height=box[0])
    assert result["score_60"][0] > 1.0
    assert result["grid_period"][0] == pytest.approx(0.3, rel=0.01)
    assert abs(angle_difference(result["orientation"][0], 35.0)) < 1.0


# --------------------------------------------------------------------------
# Scores against the direct implementation


ANALYTIC = {
    "hexagonal": hexagonal_map((20, 20), 0.3, 0.0),
    "rotated hexagonal": hexagonal_map((20, 20), 0.35, 23.0),
    "square": square_map((20, 20), 0.3, 10.0),
    "stripes": stripes_map((20, 20), 0.25, 25.0),
    "hexagonal 32": hexagonal_map((32, 32), 0.28, 41.0),
}


@pytest.mark.parametrize("form", ["minmax", "mean"])
@pytest.mark.parametrize("name", list(ANALYTIC))
def test_scores_match_direct_implementation(name, form):
    ratemap = ANALYTIC[name]
    expected_60, expected_90 = direct_scores(ratemap, form=form)
    result = score_maps(ratemap, box_width=BOX, form=form)
    assert result["score_60"][0] == pytest.approx(expected_60, abs=0.02)
    assert result["score_90"][0] == pytest.approx(expected_90, abs=0.02)


def test_scores_match_direct_implementation_with_nans(rng):
    ratemap = hexagonal_map((20, 20), 0.3, 17.0) + rng.normal(0, 0.5, (20, 20))
    ratemap[rng.random(ratemap.shape) < 0.3] = np.nan
    expected_60, expected_90 = direct_scores(ratemap)
    result = score_maps(ratemap, box_width=BOX)
    assert result["score_60"][0] == pytest.approx(expected_60, abs=0.02)
    assert result["score_90"][0] == pytest.approx(expected_90, abs=0.02)


def test_batch_equals_one_by_one(rng):
    maps = np.stack(
        [hexagonal_map((20, 20), 0.3, 5.0), square_map((20, 20), 0.3, 0.0)]
        + [rng.normal(size=(20, 20)) for _ in range(40)]
    )
    maps[5][rng.random((20, 20)) < 0.4] = np.nan
    batch = score_maps(maps, box_width=BOX)
    for unit in (0, 1, 5, 41):
        single = score_maps(maps[unit], box_width=BOX)
        for key in ("score_60", "score_90", "grid_period", "orientation"):
            np.testing.assert_allclose(batch[key][unit], single[key][0], atol=1e-12)


# --------------------------------------------------------------------------
# Properties


def test_unvisited_bins_barely_change_a_hexagonal_score(rng):
    ratemap = hexagonal_map((32, 32), 0.3, 12.0) + 3.5  # positive rates
    full = score_maps(ratemap, box_width=BOX)["score_60"][0]
    holes = ratemap.copy()
    holes[rng.random(holes.shape) < 0.3] = np.nan
    quadrant = ratemap.copy()
    quadrant[16:, 16:] = np.nan
    scores = score_maps(np.stack([holes, quadrant]), box_width=BOX)["score_60"]
    np.testing.assert_allclose(scores, full, atol=0.08)


def test_adding_a_constant_or_scaling_changes_nothing(rng):
    ratemap = hexagonal_map((24, 24), 0.3, 8.0) + rng.normal(0, 0.3, (24, 24))
    ratemap[rng.random(ratemap.shape) < 0.2] = np.nan
    maps = np.stack([ratemap, ratemap + 1e3, 7.0 * ratemap])
    result = score_maps(maps, box_width=BOX)
    for key in ("score_60", "score_90", "grid_period", "orientation"):
        np.testing.assert_allclose(result[key], result[key][0], atol=1e-8)


@pytest.mark.parametrize("wavelength", [0.15, 0.25, 0.4])
def test_stripes_are_not_grid_cells(wavelength):
    maps = np.stack(
        [stripes_map((32, 32), wavelength, angle) for angle in range(0, 180, 15)]
    )
    assert np.all(score_maps(maps, box_width=BOX)["score_60"] < 0.3)


@pytest.mark.parametrize("grid_period", [0.25, 0.35])
def test_square_lattice(grid_period):
    maps = np.stack([square_map((32, 32), grid_period, a) for a in (0, 20, 45)])
    result = score_maps(maps, box_width=BOX)
    assert np.all(result["score_90"] > 1.0)
    assert np.all(result["score_60"] < 0.0)


def test_mean_and_minmax_forms_agree_on_hexagons_differ_on_squares():
    maps = np.stack([hexagonal_map((32, 32), 0.3, 0.0), square_map((32, 32), 0.3, 0)])
    minmax = score_maps(maps, box_width=BOX, form="minmax")["score_60"]
    mean = score_maps(maps, box_width=BOX, form="mean")["score_60"]
    assert abs(minmax[0] - mean[0]) < 0.15
    assert mean[1] - minmax[1] > 0.3


def test_undefined_maps_give_nan_without_warnings(rng):
    nan_holes = np.full((20, 20), np.nan)
    nan_holes[3, 4] = 1.0  # a single visited bin: no lag has enough pairs
    maps = np.stack(
        [
            np.zeros((20, 20)),
            np.full((20, 20), 4.2),
            np.full((20, 20), np.nan),
            nan_holes,
            hexagonal_map((20, 20), 0.3, 0.0),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = score_maps(maps, box_width=BOX)
    for key in ("score_60", "score_90", "grid_period", "orientation"):
        assert np.isnan(result[key][:4]).all(), key
        assert np.isfinite(result[key][4]), key


def test_grid_scores_from_maps_or_sac(rng):
    maps = rng.normal(size=(4, 16, 16))
    from_maps = grid_scores(maps)
    from_sac = grid_scores(sac=autocorrelogram(maps))
    # Maps are scored on half SACs (SAC(-d) = SAC(d)): same values up to the
    # order of floating-point sums.
    np.testing.assert_allclose(from_maps["score_60"], from_sac["score_60"], atol=1e-12)


def test_scores_do_not_depend_on_threads(rng):
    # Enough maps for several chunks, so that threads really share them.
    maps = rng.normal(size=(3 * scores_module._chunk_units(20, 20) + 5, 20, 20))
    alone = grid_scores(maps, workers=1)
    for workers in (2, 3):
        shared = grid_scores(maps, workers=workers)
        for key in ("score_60", "score_90", "annulus_60"):
            np.testing.assert_array_equal(shared[key], alone[key])


def test_bad_arguments():
    ratemap = np.zeros((1, 10, 10))
    with pytest.raises(ValueError, match="form"):
        score_maps(ratemap, box_width=1.0, form="max")
    with pytest.raises(ValueError, match="box_width"):
        score_maps(ratemap, box_width=0.0)
    with pytest.raises(ValueError, match="ratemaps"):
        score_maps(np.zeros((2, 3, 4, 5)), box_width=1.0)
    with pytest.raises(ValueError, match="exactly one"):
        grid_scores()
