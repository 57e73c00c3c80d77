"""Pattern-forming dynamics against the theory's prediction."""

import numpy as np
import pytest
from scipy import ndimage

from simulate.pattern import CorrelationOperator, run_pattern
from tests.cli_helpers import assert_bad_input, run_cli, run_json
from theory import get_encoding
from validate.pattern_study import measure_pattern
from validate.scores import score_maps


def test_dos_open_box_forms_the_predicted_hexagon():
    width = 0.12
    result = measure_pattern(get_encoding("dos", width=width), units=4, seed=0)
    # Prediction written out: k*^2 = 2 ln(s^2) / (sigma^2 (s^2 - 1)), s = 2.
    k_star = np.sqrt(2 * np.log(4) / (width**2 * 3))
    assert result["predicted_grid_period"] == pytest.approx(
        4 * np.pi / (np.sqrt(3) * k_star)
    )
    assert result["converged"]
    assert result["grid_score"] > 1.0
    assert result["grid_period"] == pytest.approx(
        result["predicted_grid_period"], rel=0.05
    )


def test_gaussian_target_gives_one_bump_and_no_lattice():
    result = run_pattern(get_encoding("gaussian", width=0.12), units=3, seed=1)
    scores = score_maps(result.maps, box_width=2.2)
    assert np.all(np.nan_to_num(scores["score_60"], nan=0.0) < 0.3)
    for g in result.maps:
        _, regions = ndimage.label(g > 0.5 * g.max())
        assert regions == 1


def test_without_nonnegativity_no_hexagon():
    result = run_pattern(
        get_encoding("dos", width=0.12), units=3, seed=2, nonnegative=False
    )
    scores = score_maps(result.maps, box_width=2.2)
    assert np.all(np.nan_to_num(scores["score_60"], nan=0.0) < 0.3)
    assert np.any(result.maps < 0)


def test_periodic_kernel_has_plane_wave_eigenvectors():
    # A translation-invariant operator on a torus is diagonal in Fourier modes.
    encoding = get_encoding("dos", width=0.12, periodic=True, n_cells=128)
    shape = (32, 32)
    sigma = CorrelationOperator(encoding, encoding.draw_cells(0), shape)
    ys, xs = np.meshgrid(np.arange(32), np.arange(32), indexing="ij")
    wave = np.cos(2 * np.pi * (3 * xs + 1 * ys) / 32)[None]
    image = sigma(wave)
    eigenvalue = np.sum(image * wave) / np.sum(wave * wave)
    np.testing.assert_allclose(image, eigenvalue * wave, atol=1e-9 * abs(eigenvalue))


def test_open_box_kernel_operator_is_symmetric(rng):
    encoding = get_encoding("dos", width=0.12, n_cells=128)
    sigma = CorrelationOperator(encoding, encoding.draw_cells(0), (20, 24))
    a, b = rng.standard_normal((2, 1, 20, 24))
    assert np.sum(a * sigma(b)) == pytest.approx(np.sum(sigma(a) * b), rel=1e-10)


def test_exact_operator_equals_dense_correlation_matrix(rng):
    encoding = get_encoding("dos", width=0.15, n_cells=16)
    cells = encoding.draw_cells(0)
    sigma = CorrelationOperator(encoding, cells, (6, 5), operator="exact")
    from theory.spectrum import bin_centres

    targets = encoding.targets(bin_centres(2.2, 2.2, (6, 5)), cells).reshape(30, 16)
    targets = targets - targets.mean(axis=0)
    matrix = targets @ targets.T / 16
    g = rng.standard_normal((1, 6, 5))
    np.testing.assert_allclose(sigma(g).ravel(), matrix @ g.ravel(), rtol=1e-10)


def test_same_seed_same_maps():
    encoding = get_encoding("dos", width=0.16)
    a = run_pattern(encoding, units=2, seed=3, max_iterations=50)
    b = run_pattern(encoding, units=2, seed=3, max_iterations=50)
    np.testing.assert_array_equal(a.maps, b.maps)
    assert a.iterations == 50 and not a.converged


def test_pattern_cli(tmp_path):
    figure = tmp_path / "pattern.png"
    result = run_json(
        "pattern",
        "--encoding",
        "dos",
        "--width",
        "0.16",
        "--units",
        "2",
        "--plot",
        figure,
    )
    for key in ("grid_score", "grid_period", "predicted_grid_period", "seconds"):
        assert key in result
    assert figure.exists()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--encoding", "dos", "--width", "0.12", "--bins", "8"], ["too coarse"]),
        (["--encoding", "dos", "--width", "0.12", "--units", "0"], ["units"]),
        (["--encoding", "dos", "--width", "0.6"], ["smaller than one"]),
        (["--encoding", "nope", "--width", "0.12"], ["unknown encoding"]),
        (["--encoding", "dos", "--width", "-1"], ["width"]),
    ],
)
def test_pattern_bad_input(args, words):
    assert_bad_input(run_cli("pattern", *args), *words)
