"""Null models and calibrated grid calls.

False-positive checks score maps drawn from (or close to) each null against
that null: with N surrogates a unit has p <= 0.01 by chance with probability
floor(0.01 (N + 1)) / (N + 1), so the number of such units among M is at
most binomial; the tolerance is that binomial's 1e-3 upper tail.
"""

import warnings

import numpy as np
import pytest
import scipy.ndimage
import scipy.stats

from tests.analytic_maps import bin_centres, hexagonal_map
from validate import nulls
from validate.cli import main
from validate.nulls import (
    NULLS,
    calibrate,
    detect_fields,
    lag1_correlation,
    surrogate_maps,
    wilson_interval,
)

BINS = 20
FALSE_POSITIVE_SAMPLES = 99  # chance rate of p <= 0.01 is exactly 1 / 100
TAIL = 1e-3


def random_blobs(rng, maps, bins=BINS):
    """Sums of 2-7 Gaussian fields at uniformly random places, 1 m box."""
    y = bin_centres(bins, 1.0)[:, None]
    x = bin_centres(bins, 1.0)[None, :]
    out = np.empty((maps, bins, bins))
    for k in range(maps):
        fields = rng.integers(2, 8)
        width = rng.uniform(0.05, 0.12)
        centres = rng.uniform(-0.5, 0.5, (fields, 2))
        heights = rng.uniform(0.5, 1.5, fields)
        out[k] = 0.1
        for (cx, cy), height in zip(centres, heights, strict=True):
            out[k] += height * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * width**2))
    return out


def chance_upper_bound(maps, samples=FALSE_POSITIVE_SAMPLES, alpha=0.01):
    """Most units a calibrated test flags by chance, but with prob. TAIL."""
    rate = np.floor(alpha * (samples + 1)) / (samples + 1)
    return scipy.stats.binom.isf(TAIL, maps, rate)


# --------------------------------------------------------------------------
# Power: perfect lattices beat every null


# Lattices not commensurate with the box. The spectrum null keeps a map's
# (circular) autocorrelation, so a perfect lattice beats it only through its
# phase coherence across the box; lattices that nearly tile the box (e.g.
# 0.28 m at 41 degrees here) land near p = 0.01.
LATTICES = [(0.3, 7.0), (0.37, 22.0), (0.33, 53.0)]


@pytest.mark.parametrize("null", NULLS)
@pytest.mark.parametrize("holes", [0.0, 0.3])
def test_perfect_hexagonal_maps_beat_every_null(null, holes, rng):
    maps = np.stack([hexagonal_map((BINS, BINS), p, o) + 2.0 for p, o in LATTICES])
    maps[rng.random(maps.shape) < holes] = np.nan
    result = calibrate(maps, box_width=1.0, null=null, samples=200, seed=0)
    assert np.all(result["p_value_60"] < 0.01), result["p_value_60"]
    assert result["beats_null"].all()
    assert np.all(result["score_60"] > result["null_p99_60"])
    assert result["fraction_beats_null"] == 1.0


# --------------------------------------------------------------------------
# Calibration: null-like maps beat the null at about the nominal rate


def false_positives(maps, null):
    result = calibrate(
        maps, box_width=1.0, null=null, samples=FALSE_POSITIVE_SAMPLES, seed=7
    )
    return int(result["beats_null"].sum()), result


def test_phase_randomised_hexagonal_maps_against_spectrum_null(rng):
    # Phase-randomised maps are draws from the spectrum null of the lattice,
    # and have its spectrum exactly: exchangeable with their own surrogates.
    lattices = np.stack(
        [
            hexagonal_map((BINS, BINS), rng.uniform(0.25, 0.45), rng.uniform(0, 60))
            for _ in range(300)
        ]
    )
    maps = surrogate_maps(lattices, null="spectrum", samples=1, seed=11)[:, 0]
    hits, result = false_positives(maps, "spectrum")
    assert hits <= chance_upper_bound(len(maps))
    # Their fixed-threshold scores are high: the threshold says "grid".
    assert np.mean(result["score_60"] > 0.3) > 0.9
    # Above the 99th percentile (interpolated between the two largest of
    # 99 values): by chance at most 2 in 100.
    above = int((result["score_60"] > result["null_p99_60"]).sum())
    assert above <= scipy.stats.binom.isf(TAIL, len(maps), 0.02)


def test_isotropic_maps_of_one_scale_against_ring_null(rng):
    # Draws from the ring null of random lattices are isotropic random fields
    # of the lattices' scale: exchangeable with their own ring surrogates.
    lattices = np.stack(
        [
            hexagonal_map((BINS, BINS), rng.uniform(0.25, 0.45), rng.uniform(0, 60))
            for _ in range(300)
        ]
    )
    maps = surrogate_maps(lattices, null="ring", samples=1, seed=11)[:, 0]
    hits, _ = false_positives(maps, "ring")
    assert hits <= chance_upper_bound(len(maps))


@pytest.mark.parametrize("null", ["ring", "spectrum", "fields", "noise"])
def test_random_blobs_do_not_beat_the_nulls(null, rng):
    maps = random_blobs(rng, 200)
    hits, _ = false_positives(maps, null)
    assert hits <= chance_upper_bound(len(maps))


def test_smoothed_noise_against_noise_null(rng):
    maps = scipy.ndimage.gaussian_filter(
        rng.normal(size=(200, BINS, BINS)), (0, 1.5, 1.5), mode="wrap"
    )
    hits, result = false_positives(maps, "noise")
    assert hits <= chance_upper_bound(len(maps))
    # The fixed threshold passes many of them.
    assert np.mean(result["score_60"] > 0.3) > 0.05


# --------------------------------------------------------------------------
# The null models themselves


def test_ring_surrogates_have_the_ring_averaged_spectrum(rng):
    maps = rng.normal(size=(2, 12, 16)) + 4.0
    surrogates = surrogate_maps(maps, null="ring", samples=3, seed=2)
    # Ring averages written out: |k| in cycles per bin, rings 1/16 wide.
    for unit in range(2):
        spectrum = np.abs(np.fft.fft2(maps[unit] - maps[unit].mean())) ** 2
        rings = {}
        for i in range(12):
            for j in range(16):
                ky = i / 12 if i <= 6 else i / 12 - 1
                kx = j / 16 if j <= 8 else j / 16 - 1
                key = int(np.rint(np.hypot(ky, kx) * 16))
                rings.setdefault(key, []).append((i, j))
        for sample in surrogates[unit]:
            got = np.abs(np.fft.fft2(sample - sample.mean()))
            for members in rings.values():
                expected = np.sqrt(np.mean([spectrum[m] for m in members]))
                if expected > 1e-9:
                    values = np.array([got[m] for m in members])
                    np.testing.assert_allclose(values, expected, rtol=1e-9)
            assert not np.allclose(sample, maps[unit])


def test_spectrum_surrogates_keep_the_amplitude_spectrum(rng):
    maps = rng.normal(size=(3, 12, 16)) + 4.0
    surrogates = surrogate_maps(maps, null="spectrum", samples=5, seed=1)
    assert surrogates.shape == (3, 5, 12, 16)
    expected = np.broadcast_to(np.abs(np.fft.rfft2(maps))[:, None], (3, 5, 12, 9))
    np.testing.assert_allclose(np.abs(np.fft.rfft2(surrogates)), expected, atol=1e-9)
    assert not np.allclose(surrogates[:, 0], maps)


@pytest.mark.parametrize("null", NULLS)
def test_surrogates_keep_unvisited_bins_and_are_seeded(null, rng):
    maps = random_blobs(rng, 3)
    maps[rng.random(maps.shape) < 0.2] = np.nan
    first = surrogate_maps(maps, null=null, samples=4, seed=3)
    again = surrogate_maps(maps, null=null, samples=4, seed=3)
    other = surrogate_maps(maps, null=null, samples=4, seed=4)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other, equal_nan=True)
    np.testing.assert_array_equal(
        np.isnan(first), np.broadcast_to(np.isnan(maps)[:, None], first.shape)
    )


def test_a_units_null_does_not_depend_on_the_other_units(rng):
    maps = random_blobs(rng, 3)
    together = calibrate(maps, box_width=1.0, samples=40, seed=5)
    alone = calibrate(maps[:1], box_width=1.0, samples=40, seed=5)
    # Same surrogates; single-precision sums may round differently in
    # batches of another size.
    assert together["p_value_60"][0] == alone["p_value_60"][0]
    assert together["null_p99_60"][0] == pytest.approx(
        alone["null_p99_60"][0], abs=1e-5
    )


@pytest.mark.parametrize("shape", [(12, 16), (7, 9), (8, 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_drawn_spectra_are_transforms_of_real_white_noise(shape, dtype):
    # Phases and noise are drawn on the rfft2 grid, not by transforming
    # noise: they must be exactly the transforms of real maps (an inverse
    # and forward transform returns them), the phasors of modulus 1, and
    # the noise white: mean power equal at every wavevector, the maps'
    # variance 1 / (ny nx) of it (Parseval).
    rngs = [np.random.default_rng(4)]
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    phasors = nulls._random_phases(shape, 50, rngs, dtype)[0]
    again = np.fft.rfft2(np.fft.irfft2(phasors, s=shape))
    np.testing.assert_allclose(again, phasors, atol=tolerance)
    np.testing.assert_allclose(np.abs(phasors), 1.0, atol=tolerance)

    samples = 4000
    noise = nulls._white_noise_spectrum(shape, samples, rngs, dtype)[0]
    again = np.fft.rfft2(np.fft.irfft2(noise, s=shape))
    np.testing.assert_allclose(again, noise, atol=tolerance * 10)
    power = np.mean(np.abs(noise) ** 2, axis=0)
    # Each wavevector's mean of 4000 powers (exponential, or chi-square with
    # one degree of freedom where real): within 6 standard errors of 1.
    np.testing.assert_allclose(power, 1.0, atol=6 * np.sqrt(2 / samples))
    maps = np.fft.irfft2(noise, s=shape)
    np.testing.assert_allclose(maps.var() * np.prod(shape), 1.0, atol=0.05)


def test_field_surrogates_keep_sizes_and_peak_rates(rng):
    maps = random_blobs(rng, 4, bins=32)
    surrogates = surrogate_maps(maps, null="fields", samples=6, seed=2)
    for ratemap, unit_surrogates in zip(maps, surrogates, strict=True):
        labels, count = detect_fields(ratemap)
        assert count >= 1
        index = range(1, count + 1)
        peaks = scipy.ndimage.maximum(ratemap, labels, index)
        for surrogate in unit_surrogates:
            # Each field's peak rate is pasted as it was (cores never
            # overlap), and the map's highest rate is the highest field's.
            for peak in peaks:
                assert np.any(surrogate == peak)
            assert surrogate.max() == ratemap.max()
            # Field cores moved whole: as many bins at or above each core's
            # lowest rate as before, at least.
            threshold = ratemap[labels > 0].min()
            assert (surrogate >= threshold).sum() >= (labels > 0).sum()
        assert not np.allclose(unit_surrogates[0], ratemap)


def test_noise_surrogates_match_lag1_smoothness(rng):
    maps = np.stack(
        [
            scipy.ndimage.gaussian_filter(rng.normal(size=(32, 32)), 1.0, mode="wrap"),
            scipy.ndimage.gaussian_filter(
                rng.normal(size=(32, 32)), (1.0, 2.5), mode="wrap"
            ),
        ]
    )
    surrogates = surrogate_maps(maps, null="noise", samples=50, seed=0)
    for unit in range(2):
        expected_y, expected_x = lag1_correlation(maps[unit : unit + 1])
        got_y, got_x = lag1_correlation(surrogates[unit])
        assert np.mean(got_y) == pytest.approx(expected_y[0], abs=0.05)
        assert np.mean(got_x) == pytest.approx(expected_x[0], abs=0.05)


def test_lag1_correlation_of_smoothed_white_noise(rng):
    # Gaussian-smoothed white noise: rho(1) = exp(-1 / (4 sigma^2)).
    sigma = 2.0
    maps = scipy.ndimage.gaussian_filter(
        rng.normal(size=(20, 64, 64)), (0, sigma, sigma), mode="wrap", truncate=6
    )
    rho_y, rho_x = lag1_correlation(maps)
    expected = np.exp(-1 / (4 * sigma**2))
    assert np.mean(rho_y) == pytest.approx(expected, abs=0.01)
    assert np.mean(rho_x) == pytest.approx(expected, abs=0.01)


# --------------------------------------------------------------------------
# Statistics and edge cases


def test_p_values_and_percentiles_by_counting(monkeypatch):
    import validate.nulls as nulls

    nulls_60 = np.tile(np.linspace(0.0, 0.99, 100), (3, 1))
    monkeypatch.setattr(
        nulls, "null_scores", lambda *args, **kwargs: (nulls_60, nulls_60.copy())
    )
    monkeypatch.setattr(
        nulls,
        "grid_scores",
        lambda *args, **kwargs: {
            "score_60": np.array([0.995, 0.5, np.nan]),
            "score_90": np.array([0.0, 0.985, 0.2]),
        },
    )
    result = nulls.calibrate(np.zeros((3, 4, 4)), box_width=1.0, samples=100)
    # 0.995 beats all 100; 0.5 is met or beaten by 0.50 ... 0.99 (50 values).
    np.testing.assert_allclose(result["p_value_60"][:2], [1 / 101, 51 / 101])
    assert np.isnan(result["p_value_60"][2])
    np.testing.assert_allclose(result["p_value_90"], [101 / 101, 2 / 101, 81 / 101])
    np.testing.assert_allclose(result["null_p99_60"], 0.9801, atol=1e-12)
    np.testing.assert_allclose(result["null_p95_60"], 0.9405, atol=1e-12)
    assert list(result["beats_null"]) == [True, False, False]
    assert result["n_defined"] == 2 and result["fraction_beats_null"] == 0.5


@pytest.mark.parametrize(("hits", "trials"), [(0, 10), (3, 10), (10, 10), (40, 1000)])
def test_wilson_bounds_solve_the_score_equation(hits, trials):
    # The Wilson bounds are the p with (p_hat - p)^2 = z^2 p (1 - p) / n.
    z = scipy.stats.norm.isf(0.025)
    low, high = wilson_interval(hits, trials)
    p_hat = hits / trials
    for p in (low, high):
        assert (p_hat - p) ** 2 == pytest.approx(z**2 * p * (1 - p) / trials, abs=1e-12)
    assert low <= p_hat <= high
    assert np.isnan(wilson_interval(0, 0)[0])


def test_undefined_units_are_nan_and_never_beat(rng):
    maps = np.stack(
        [np.zeros((16, 16)), np.full((16, 16), np.nan), np.full((16, 16), 3.0)]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for null in NULLS:
            result = calibrate(maps, box_width=1.0, null=null, samples=20, seed=0)
            assert np.isnan(result["p_value_60"]).all()
            assert not result["beats_null"].any()
            assert result["n_defined"] == 0


def test_bad_arguments():
    maps = np.zeros((1, 8, 8))
    with pytest.raises(ValueError, match="null must be one of"):
        calibrate(maps, box_width=1.0, null="shuffle")
    with pytest.raises(ValueError, match="at least 20"):
        calibrate(maps, box_width=1.0, samples=10)
    with pytest.raises(ValueError, match="alpha"):
        calibrate(maps, box_width=1.0, alpha=1.5)


# --------------------------------------------------------------------------
# Command line


@pytest.fixture
def maps_file(tmp_path):
    maps = np.stack(
        [hexagonal_map((BINS, BINS), 0.3, 7.0) + 2, np.full((BINS, BINS), np.nan)]
    )
    path = tmp_path / "maps.npz"
    np.savez(path, ratemaps=maps, box_width=1.0, box_height=1.0)
    return path


def test_cli_null_fields(maps_file, capsys):
    import json

    code = main(["score", str(maps_file), "--null", "noise", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    lattice, empty = result["units"]
    assert lattice["beats_null"] is True and lattice["p_value_60"] < 0.01
    assert lattice["null_p99_60"] < lattice["score_60"]
    assert empty["p_value_60"] is None and empty["beats_null"] is False
    test = result["null_test"]
    assert test["null"] == "noise" and test["samples"] == 200
    assert test["n_beats_null"] == 1 and test["n_defined"] == 1


@pytest.mark.parametrize(
    "argv", [["--null", "spectrum", "--null-samples", "19"], ["--null", "shuffle"]]
)
def test_cli_bad_null_arguments(maps_file, capsys, argv):
    try:
        code = main(["score", str(maps_file), *argv])
    except SystemExit as exit:
        code = exit.code
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
