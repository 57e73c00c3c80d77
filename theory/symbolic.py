"""Closed forms in the dense-cell limit, derived with sympy.

With place-cell centres dense and uniform, every place-cell encoding is a
translation-invariant kernel: cell i's target is a radial profile f(|x - c_i|)
and the target correlation Sigma(x - x') has power spectrum |F(k)|^2, where
F is the 2-D Fourier transform of f, the Hankel transform
``F(k) = 2 pi int_0^inf f(r) J_0(k r) r dr`` (Sorscher et al. 2019).

Dense-limit profiles (sigma_E = width, sigma_I = surround width):

- gaussian: the softmax over dense cells is a unit-mass Gaussian;
- dos: difference of unit-mass Gaussians of sigma_E and sigma_I;
- dog, general_dog: alpha_E exp(-r^2/2 sigma_E^2) - alpha_I exp(-r^2/2 sigma_I^2)
  (SN only adds a constant and rescales; the constant is the k = 0 term,
  which is removed);
- sod: softmax(-a + b) is a Gaussian of sigma_E sigma_I / sqrt(sigma_I^2 - sigma_E^2).

The ring wavenumber solves dF/d(k^2) = 0; a lattice forms where that
stationary point exists (k* > 0) and ``|F(k*)| > |F(0)|``.
Cartesian, polar, multifield and heterogeneous targets have no closed form
here (the first two are not translation invariant).

Every function returns sympy expressions; :func:`numeric` turns one into a
numpy function vectorised over arrays.
"""

from __future__ import annotations

import functools

import sympy as sp

r, k, u = sp.symbols("r k u", positive=True)
sigma, s = sp.symbols("sigma s", positive=True)
sigma_E, sigma_I = sp.symbols("sigma_E sigma_I", positive=True)
alpha_E, alpha_I = sp.symbols("alpha_E alpha_I", positive=True)

CLOSED_FORM_ENCODINGS = ("gaussian", "dos", "dog", "general_dog", "sod")


def _gaussian(width):
    return sp.exp(-(r**2) / (2 * width**2))


def profile(name: str) -> sp.Expr:
    """Dense-limit radial tuning profile f(r) of encoding ``name``."""
    if name == "gaussian":
        return _gaussian(sigma_E) / (2 * sp.pi * sigma_E**2)
    if name == "dos":
        return _gaussian(sigma_E) / (2 * sp.pi * sigma_E**2) - _gaussian(sigma_I) / (
            2 * sp.pi * sigma_I**2
        )
    if name == "dog":
        return _gaussian(sigma_E) - _gaussian(sigma_I)
    if name == "general_dog":
        return alpha_E * _gaussian(sigma_E) - alpha_I * _gaussian(sigma_I)
    if name == "sod":
        return sp.exp(-(r**2) / (2 * sigma_E**2) + r**2 / (2 * sigma_I**2))
    raise ValueError(
        f"no closed form for encoding {name!r}; closed forms exist for "
        f"{', '.join(CLOSED_FORM_ENCODINGS)}"
    )


@functools.cache
def fourier_transform(name: str) -> sp.Expr:
    """2-D Fourier transform F(k) of the profile (a Hankel transform)."""
    f = profile(name)
    if name == "sod":
        # The Gaussian exponent is written as one width so sympy sees the
        # convergent form; sigma_I > sigma_E makes it a decaying Gaussian.
        effective = sigma_E * sigma_I / sp.sqrt(sigma_I**2 - sigma_E**2)
        f = _gaussian(effective)
    terms = sp.Add.make_args(sp.expand(f))
    transform = sum(2 * sp.pi * sp.hankel_transform(term, r, k, 0) for term in terms)
    return sp.simplify(transform)


@functools.cache
def ring_wavenumber_squared(name: str) -> sp.Expr:
    """k*^2 from dF/d(k^2) = 0, or 0 where F has no stationary point k > 0."""
    transform = fourier_transform(name).subs(k, sp.sqrt(u))
    roots = [
        root
        for root in sp.solve(sp.diff(transform, u), u)
        if root.is_real is not False and root != 0
    ]
    if not roots:
        return sp.Integer(0)
    if len(roots) > 1:
        raise RuntimeError(f"several stationary points for {name!r}: {roots}")
    return sp.simplify(roots[0])


def ring_wavenumber(name: str) -> sp.Expr:
    """k* (rad/m) as a sympy expression of sigma_E, sigma_I (and alphas)."""
    return sp.sqrt(ring_wavenumber_squared(name))


def lattice_condition(name: str) -> sp.Expr:
    """``|F(k*)| > |F(0)|`` with k*^2 > 0: the ring beats the uniform mode."""
    squared = ring_wavenumber_squared(name)
    if squared == 0:
        return sp.false
    transform = fourier_transform(name)
    at_ring = transform.subs(k, sp.sqrt(squared))
    return sp.And(squared > 0, sp.Abs(at_ring) > sp.Abs(transform.subs(k, 0)))


def wavelength(name: str) -> sp.Expr:
    """2 pi / k* (m)."""
    return 2 * sp.pi / ring_wavenumber(name)


def grid_period(name: str) -> sp.Expr:
    """Hexagonal nearest-neighbour spacing 4 pi / (sqrt(3) k*) (m)."""
    return 4 * sp.pi / (sp.sqrt(3) * ring_wavenumber(name))


def in_width_and_scale(expr: sp.Expr, convention: str = "paper") -> sp.Expr:
    """Substitute sigma_E = sigma and the surround per ``convention``.

    ``"paper"``: sigma_I = s sigma; ``"sorscher"``: sigma_I = sqrt(s) sigma.
    """
    if convention not in ("paper", "sorscher"):
        raise ValueError(f"convention must be paper or sorscher, got {convention!r}")
    surround = s * sigma if convention == "paper" else sp.sqrt(s) * sigma
    return sp.simplify(expr.subs({sigma_E: sigma, sigma_I: surround}))


def numeric(expr: sp.Expr):
    """A numpy function of (sigma, s, ...) or (sigma_E, sigma_I, ...) for ``expr``.

    Arguments are the expression's free symbols sorted by name, which the
    returned function lists in its ``symbols`` attribute.
    """
    symbols = sorted(expr.free_symbols, key=lambda symbol: symbol.name)
    function = sp.lambdify(symbols, expr, modules="numpy")
    function.symbols = tuple(symbol.name for symbol in symbols)
    return function
