"""Theory: closed forms, FFT of the exact targets, lattice verdicts, box effects.

Expected values come from the mathematics (written out here independently of
the package) or from an independent numerical computation.
"""

import numpy as np
import pytest
import sympy as sp
from scipy.optimize import brentq, minimize_scalar

from theory import get_encoding, grid_period_from_wavenumber
from theory import symbolic as S
from theory.box import best_triad, box_fit, periodic_shells
from theory.prediction import (
    RING_CLOSED_FORMS,
    alpha_ratio_window,
    lattice_forms,
    predict,
    ring_wavenumber,
    stationary_wavenumber,
)
from theory.spectrum import radial_spectrum

WIDTHS = (0.06, 0.09, 0.12, 0.16, 0.20)
BOX = 2.2
BIN = 2 * np.pi / BOX


def dog_ring(sigma_e, sigma_i, amp_e, amp_i):
    """k* of A_E exp(-r^2/2 sE^2) - A_I exp(-r^2/2 sI^2), written out by hand."""
    return np.sqrt(
        2
        * np.log(amp_i * sigma_i**4 / (amp_e * sigma_e**4))
        / (sigma_i**2 - sigma_e**2)
    )


def surround(width, scale, convention):
    return width * scale if convention == "paper" else width * np.sqrt(scale)


# -- the reference numbers -----------------------------------------------------


def test_reference_periods_of_the_two_conventions():
    # DESIGN.md: 0.906 m (paper) vs 0.739 m (Sorscher) at sigma = 0.12, s = 2.
    paper = ring_wavenumber("dos", 0.12, 2.0, convention="paper")
    sorscher = ring_wavenumber("dos", 0.12, 2.0, convention="sorscher")
    assert grid_period_from_wavenumber(paper) == pytest.approx(0.906, abs=5e-4)
    assert grid_period_from_wavenumber(sorscher) == pytest.approx(0.739, abs=5e-4)


def test_grid_period_is_two_over_root_three_wavelengths():
    k = 7.3
    assert grid_period_from_wavenumber(k) == pytest.approx(
        2 / np.sqrt(3) * 2 * np.pi / k
    )


# -- closed form against the FFT of the exact targets -----------------------


@pytest.mark.parametrize("convention", ["paper", "sorscher"])
@pytest.mark.parametrize("width", WIDTHS)
def test_dos_closed_form_matches_fft_within_one_bin(width, convention):
    sigma_i = surround(width, 2.0, convention)
    expected = dog_ring(width, sigma_i, 1 / width**2, 1 / sigma_i**2)
    assert ring_wavenumber("dos", width, 2.0, convention=convention) == pytest.approx(
        expected, rel=1e-12
    )
    spectrum = radial_spectrum(get_encoding("dos", width=width, convention=convention))
    assert spectrum.lattice
    assert abs(spectrum.peak_wavenumber - expected) < BIN


@pytest.mark.parametrize("convention", ["paper", "sorscher"])
@pytest.mark.parametrize("width", WIDTHS)
def test_general_dog_closed_form_matches_fft_within_one_bin(width, convention):
    sigma_i = surround(width, 2.0, convention)
    # 1.25 times the balanced ratio: inside the window, away from its edges.
    alpha_e, alpha_i = 1.25 * (sigma_i / width) ** 2, 1.0
    expected = dog_ring(width, sigma_i, alpha_e, alpha_i)
    encoding = get_encoding(
        "general_dog", width=width, convention=convention, alpha_e=alpha_e
    )
    assert ring_wavenumber(
        "general_dog", width, 2.0, convention=convention, alpha_e=alpha_e
    ) == pytest.approx(expected, rel=1e-12)
    spectrum = radial_spectrum(encoding)
    assert spectrum.lattice
    assert abs(spectrum.peak_wavenumber - expected) < BIN


def test_periodic_box_fft_matches_closed_form():
    spectrum = radial_spectrum(get_encoding("dos", width=0.12, periodic=True))
    assert (
        abs(spectrum.peak_wavenumber - dog_ring(0.12, 0.24, 1 / 0.12**2, 1 / 0.24**2))
        < BIN
    )


# -- no lattice -------------------------------------------------------------


@pytest.mark.parametrize("name", ["gaussian", "sod", "dog", "cartesian", "polar"])
def test_no_lattice(name):
    encoding = get_encoding(name, width=0.12)
    assert not radial_spectrum(encoding).lattice
    prediction = predict(encoding, fft=False)
    assert prediction.pattern == "none"
    assert prediction.wavenumber == 0


def test_equal_amplitude_dog_ring_loses_to_uniform_mode():
    # |F(k*)| < |F(0)| for the stationary ring of exp(-a) - exp(-b).
    width, sigma_i = 0.12, 0.24
    ring = dog_ring(width, sigma_i, 1.0, 1.0)

    def transform(k):
        return width**2 * np.exp(-(width**2) * k**2 / 2) - sigma_i**2 * np.exp(
            -(sigma_i**2) * k**2 / 2
        )

    assert abs(transform(ring)) < abs(transform(0))
    assert not lattice_forms("dog", width, 2.0)


# -- the general DoG window --------------------------------------------------


def _numeric_verdict(ratio, width, sigma_i):
    """Lattice by brute force: max of |F| over a fine k grid away from 0."""

    def transform(k):
        return ratio * width**2 * np.exp(-(width**2) * k**2 / 2) - sigma_i**2 * np.exp(
            -(sigma_i**2) * k**2 / 2
        )

    k = np.linspace(0, 80, 400001)
    values = np.abs(transform(k))
    best = np.argmax(values)
    return best > 0 and values[best] > values[0]


@pytest.mark.parametrize("convention", ["paper", "sorscher"])
def test_general_dog_lattice_exactly_inside_window(convention):
    width = 0.12
    sigma_i = surround(width, 2.0, convention)
    low, high = alpha_ratio_window(width, 2.0, convention=convention)
    assert high == pytest.approx((sigma_i / width) ** 4)
    assert low < (sigma_i / width) ** 2 < high
    for ratio in np.geomspace(low / 3, high * 3, 25):
        expected = _numeric_verdict(ratio, width, sigma_i)
        got = lattice_forms(
            "general_dog", width, 2.0, convention=convention, alpha_e=ratio, alpha_i=1.0
        )
        assert bool(got) == expected, ratio
    for ratio, inside in (
        (low * 0.99, False),
        (low * 1.01, True),
        (high * 1.01, False),
    ):
        got = lattice_forms(
            "general_dog", width, 2.0, convention=convention, alpha_e=ratio, alpha_i=1.0
        )
        assert bool(got) == inside


def test_general_dog_fft_verdict_follows_window():
    low, high = alpha_ratio_window(0.12, 2.0)
    inside = get_encoding(
        "general_dog", width=0.12, alpha_e=np.sqrt(low * 4), alpha_i=1.0
    )
    below = get_encoding("general_dog", width=0.12, alpha_e=low / 2, alpha_i=1.0)
    assert radial_spectrum(inside).lattice
    assert not radial_spectrum(below).lattice


# -- fields and widths ------------------------------------------------------


def test_several_fields_at_one_width_keep_the_ring():
    expected = dog_ring(0.12, 0.24, 1 / 0.12**2, 1 / 0.24**2)
    for rule in ("nearest", "sum"):
        spectrum = radial_spectrum(
            get_encoding("multifield", width=0.12, fields_rate=3.0, field_rule=rule)
        )
        assert spectrum.lattice
        assert abs(spectrum.peak_wavenumber - expected) < BIN


def test_widely_spread_widths_smear_the_ring():
    single = radial_spectrum(get_encoding("dos", width=0.12))
    spread = radial_spectrum(get_encoding("dos", width=0.12, width_range=(0.06, 1.0)))
    first = np.searchsorted(single.wavenumbers, single.minimum_wavenumber)
    # Power at the lowest wavenumber relative to the maximum: a sharp ring leaves
    # it low; a disk of rings at 1/sigma fills it.
    assert single.lattice and not spread.lattice
    assert spread.power[first] > 2 * single.power[first]


# -- symbolic against numeric ----------------------------------------------


@pytest.mark.parametrize("name", ["dos", "dog", "general_dog"])
def test_symbolic_ring_equals_root_of_derivative(name):
    transform = S.numeric(S.fourier_transform(name))
    ring = S.numeric(S.ring_wavenumber(name))
    derivative = S.numeric(sp.diff(S.fourier_transform(name), S.k))
    values = {"alpha_E": 2.5, "alpha_I": 1.0}
    for width, sigma_i in ((0.06, 0.12), (0.12, 0.24), (0.2, 0.29)):
        values.update(sigma_E=width, sigma_I=sigma_i)

        def call(function, **extra):
            return function(*[{**values, **extra}[n] for n in function.symbols])

        k_star = call(ring)
        root = brentq(lambda k: call(derivative, k=k), 0.3 * k_star, 2.5 * k_star)
        assert k_star == pytest.approx(root, rel=1e-9)
        # and it is a maximum of |F| (of F itself for these profiles)
        best = minimize_scalar(
            lambda k: -call(transform, k=k),
            bounds=(0.3 * k_star, 2.5 * k_star),
            method="bounded",
            options={"xatol": 1e-10},
        )
        assert best.x == pytest.approx(root, rel=1e-5)


@pytest.mark.parametrize("key", sorted(RING_CLOSED_FORMS))
def test_closed_form_strings_equal_sympy_derivation(key):
    name, convention = key
    derived = S.in_width_and_scale(S.ring_wavenumber(name), convention)
    stated = sp.sympify(RING_CLOSED_FORMS[key], locals=vars(S))
    for point in ({"sigma": 0.12, "s": 2.0}, {"sigma": 0.07, "s": 3.3}):
        point = {**point, "alpha_E": 2.0, "alpha_I": 1.0}
        subs = {
            getattr(S, n) if hasattr(S, n) else sp.Symbol(n): v
            for n, v in point.items()
        }
        assert float(stated.subs(subs)) == pytest.approx(
            float(derived.subs(subs)), rel=1e-12
        )


def test_numpy_stationary_point_matches_sympy_vectorised():
    widths = np.linspace(0.05, 0.3, 11)
    symbolic = S.numeric(S.in_width_and_scale(S.ring_wavenumber("dos"), "sorscher"))
    args = {"sigma": widths, "s": 3.0}
    expected = symbolic(*[args[n] for n in symbolic.symbols])
    got = stationary_wavenumber("dos", widths, 3.0, convention="sorscher")
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_sympy_transform_of_a_gaussian_is_known():
    # 2-D FT of exp(-r^2 / 2 sigma^2) is 2 pi sigma^2 exp(-sigma^2 k^2 / 2).
    expected = 2 * sp.pi * S.sigma_E**2 * sp.exp(-(S.sigma_E**2) * S.k**2 / 2)
    got = S.fourier_transform("dog").subs(S.sigma_I, S.sigma_E * 1000)
    leading = sp.limit(got - expected, S.sigma_E, 0)  # surround term only
    assert (
        sp.simplify(
            S.fourier_transform("gaussian") - sp.exp(-(S.sigma_E**2) * S.k**2 / 2)
        )
        == 0
    )
    assert leading == 0


def test_no_ring_for_gaussian_and_sod_symbolically():
    assert S.ring_wavenumber_squared("gaussian") == 0
    assert S.ring_wavenumber_squared("sod") == 0
    assert S.lattice_condition("sod") == sp.false


# -- box effects ------------------------------------------------------------


def test_box_fit_reports_why_not():
    assert box_fit(8.0, 2.2, 2.2).fits
    too_long = box_fit(2.0, 2.2, 2.2)
    assert not too_long.fits and "exceeds the box" in too_long.reason
    assert box_fit(8.0, 2.2, 2.2).periods_across == pytest.approx(
        2.2 / grid_period_from_wavenumber(8.0)
    )


def test_periodic_shells_are_allowed_wavenumbers():
    k_star = 8.0
    shells = periodic_shells(k_star, 2.2, 1.7, count=5)
    for shell in shells:
        for m, n in shell["modes"]:
            length = 2 * np.pi * np.hypot(m / 2.2, n / 1.7)
            assert length == pytest.approx(shell["wavenumber"])
    detunings = [abs(shell["detuning"]) for shell in shells]
    assert detunings == sorted(detunings)


def test_best_triad_sums_to_zero_and_a_hexagonal_torus_is_exact():
    triad = best_triad(8.0, 2.2, 2.2)
    np.testing.assert_allclose(triad.wavevectors.sum(axis=0), 0, atol=1e-9)
    # A rectangle of aspect sqrt(3) holds the hexagon (2,0), (-1,1), (-1,-1) exactly
    # when Lx = sqrt(3) Ly: |k| = 4 pi / Lx for all three.
    width = 2.0
    height = width / np.sqrt(3)
    exact = best_triad(4 * np.pi / width, width, height)
    np.testing.assert_allclose(exact.detuning, 0, atol=1e-12)
    assert exact.angle_error == pytest.approx(0, abs=1e-9)
