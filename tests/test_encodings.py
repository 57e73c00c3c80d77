"""Encodings: properties that follow from their definitions."""

import numpy as np
import pytest

from theory import get_encoding
from theory.encodings import ENCODINGS

PROBABILITY_ENCODINGS = [e for e in ENCODINGS if e not in ("cartesian", "polar")]


@pytest.fixture
def positions(rng):
    return rng.uniform(-1.1, 1.1, size=(7, 5, 2))


@pytest.mark.parametrize("name", PROBABILITY_ENCODINGS)
def test_probability_targets_are_distributions(name, positions):
    encoding = get_encoding(name, width=0.12, alpha_e=2.0, n_cells=64)
    targets = encoding.targets(positions, encoding.draw_cells(3))
    assert targets.shape == (7, 5, 64)
    assert np.all(targets >= 0)
    np.testing.assert_allclose(targets.sum(axis=-1), 1.0, rtol=1e-12)


def test_gaussian_is_a_softmax_of_scaled_distances(positions):
    encoding = get_encoding("gaussian", width=0.1, n_cells=16)
    cells = encoding.draw_cells(0)
    centres = cells.centres[:, 0, :]
    squared = np.sum((positions[..., None, :] - centres) ** 2, axis=-1)
    logits = -squared / (2 * 0.1**2)
    expected = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(encoding.targets(positions, cells), expected, rtol=1e-10)


def test_softmax_of_differences_is_a_wider_gaussian(positions):
    # -a + b = -r^2 / (2 w^2) with w = s sigma / sqrt(s^2 - 1) (paper convention).
    sod = get_encoding("sod", width=0.1, surround_scale=2.0, n_cells=32)
    cells = sod.draw_cells(1)
    wide = get_encoding("gaussian", width=0.1 * 2 / np.sqrt(3), n_cells=32)
    wide_cells = wide.draw_cells(1)
    np.testing.assert_allclose(
        sod.targets(positions, cells), wide.targets(positions, wide_cells), rtol=1e-9
    )


def test_dos_is_shift_normalised_difference(positions):
    encoding = get_encoding("dos", width=0.12, n_cells=32)
    cells = encoding.draw_cells(2)
    squared = np.sum((positions[..., None, :] - cells.centres[:, 0, :]) ** 2, axis=-1)

    def softmax(z):
        z = z - z.max(axis=-1, keepdims=True)
        return np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)

    diff = softmax(-squared / (2 * 0.12**2)) - softmax(-squared / (2 * 0.24**2))
    shifted = diff + np.abs(diff.min(axis=-1, keepdims=True))
    expected = shifted / shifted.sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(encoding.targets(positions, cells), expected, rtol=1e-9)


def test_sorscher_convention_scales_variance():
    paper = get_encoding("dos", width=0.12, surround_scale=2.0)
    sorscher = get_encoding(
        "dos", width=0.12, surround_scale=2.0, convention="sorscher"
    )
    assert paper.surround_width == pytest.approx(0.24)
    assert sorscher.surround_width == pytest.approx(0.12 * np.sqrt(2))


def test_single_field_rules_agree(positions):
    nearest = get_encoding("multifield", width=0.12, fields_rate=0.0, n_cells=32)
    summed = get_encoding(
        "multifield", width=0.12, fields_rate=0.0, n_cells=32, field_rule="sum"
    )
    cells = nearest.draw_cells(4)
    np.testing.assert_allclose(
        nearest.targets(positions, cells), summed.targets(positions, cells), rtol=1e-12
    )


def test_nearest_field_rule_uses_the_closest_field():
    encoding = get_encoding("multifield", width=0.1, n_cells=40, fields_rate=2.0)
    cells = encoding.draw_cells(5)
    many = np.flatnonzero(cells.field_mask.sum(axis=1) > 1)[0]
    far_field = np.flatnonzero(cells.field_mask[many])[-1]
    position = cells.centres[many, far_field][None, :]
    # At a field's own centre the cell's nearest-field distance is zero, so it
    # holds the largest Gaussian target of all cells with no field nearer.
    targets = get_encoding("gaussian", width=0.1, n_cells=40, fields_rate=2.0).targets(
        position, cells
    )
    assert targets[0, many] == pytest.approx(targets[0].max())


def test_periodic_targets_wrap(positions):
    encoding = get_encoding("dos", width=0.12, n_cells=32, periodic=True)
    cells = encoding.draw_cells(0)
    shifted = positions + np.array([2.2, -2.2])
    np.testing.assert_allclose(
        encoding.targets(positions, cells), encoding.targets(shifted, cells), atol=1e-12
    )


def test_targets_match_between_numpy_and_torch(positions):
    torch = pytest.importorskip("torch")
    for name in ENCODINGS:
        encoding = get_encoding(name, width=0.12, n_cells=24, alpha_e=3.0)
        cells = encoding.draw_cells(7)
        expected = encoding.targets(positions, cells)
        got = encoding.targets(
            torch.as_tensor(positions), cells.convert(torch.as_tensor)
        ).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-15)


def test_heterogeneous_draws_within_ranges():
    encoding = get_encoding("heterogeneous", width=0.12, n_cells=500)
    cells = encoding.draw_cells(0)
    assert cells.widths.min() >= 0.06 and cells.widths.max() <= 1.0
    scales = cells.surround_widths / cells.widths
    assert scales.min() >= 1.25 and scales.max() <= 4.5
    assert cells.field_mask.sum(axis=1).mean() == pytest.approx(4.0, abs=0.3)


def test_seeds_change_centres():
    encoding = get_encoding("dos", width=0.12)
    assert not np.allclose(
        encoding.draw_cells(0).centres, encoding.draw_cells(1).centres
    )
    np.testing.assert_array_equal(
        encoding.draw_cells(1).centres, encoding.draw_cells(1).centres
    )


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"name": "nope", "width": 0.1}, "unknown encoding"),
        ({"name": "dos", "width": 0.0}, "width"),
        ({"name": "dos", "width": float("nan")}, "width"),
        ({"name": "dos", "width": float("inf")}, "width"),
        ({"name": "dos"}, "needs a width"),
        ({"name": "dos", "width": 0.1, "surround_scale": 1.0}, "surround scale"),
        ({"name": "general_dog", "width": 0.1, "alpha_i": -1.0}, "alpha_i"),
        ({"name": "dos", "width": 0.1, "n_cells": 0}, "cells"),
        ({"name": "dos", "width": 0.1, "convention": "other"}, "convention"),
    ],
)
def test_bad_parameters_name_the_problem(parameters, message):
    with pytest.raises(ValueError, match=message):
        get_encoding(**parameters)


def test_widthless_encodings_need_no_width():
    assert get_encoding("cartesian").n_outputs == 512
    assert get_encoding("cartesian", low_dim=True).n_outputs == 2
    assert get_encoding("polar").loss == "mse"
