"""Target encodings: the one definition of every readout the networks learn.

An :class:`Encoding` names a target family and its parameters. Its
:meth:`Encoding.targets` computes the targets at given positions for a given
place-cell population with any array library that follows the array API
(numpy here, torch in the trainer), so the formulas exist once.

Notation (per position x and cell i, see Schaeffer, Khona & Fiete 2022):
``a_i = |x - c_i|^2 / (2 sigma^2)``, ``b_i = |x - c_i|^2 / (2 sigma_I^2)``,
softmax across cells at a fixed position, and SN (shift-and-normalise): add
``|min_i o_i|`` to every ``o_i``, then divide by the sum over cells.

=============  ===============================================  =============
name           target                                           loss
=============  ===============================================  =============
cartesian      A x + b (``n_cells`` units; 2 with low_dim)      mse
polar          half r a_j + b_j, half exp(kappa cos(theta-mu))  mse
gaussian       softmax(-a)                                      cross-entropy
dos            SN[softmax(-a) - softmax(-b)]                    cross-entropy
dog            SN[exp(-a) - exp(-b)]  (equal amplitude)         cross-entropy
general_dog    SN[alpha_E exp(-a) - alpha_I exp(-b)]            cross-entropy
sod            softmax(-a + b)                                  cross-entropy
multifield     dos, each cell 1 + Poisson(fields_rate) fields   cross-entropy
heterogeneous  dos, per-cell width and surround scale drawn     cross-entropy
=============  ===============================================  =============

Multiple fields: ``field_rule="nearest"`` (the paper's code) uses each
cell's field nearest in width-normalised distance; ``field_rule="sum"`` sums
the fields' tunings (softmax over all fields, then summed per cell).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from array_api_compat import array_namespace

from theory.cells import PlaceCells, draw_place_cells
from theory.conventions import DEFAULT_CONVENTION, check_convention, surround_width

ENCODINGS = (
    "cartesian",
    "polar",
    "gaussian",
    "dos",
    "dog",
    "general_dog",
    "sod",
    "multifield",
    "heterogeneous",
)
DIFFERENCE_ENCODINGS = (
    "dos",
    "dog",
    "general_dog",
    "sod",
    "multifield",
    "heterogeneous",
)
WIDTHLESS_ENCODINGS = ("cartesian", "polar")
FIELD_RULES = ("nearest", "sum")

#: Defaults of the paper's heterogeneous sweep (m and dimensionless).
HETEROGENEOUS_WIDTH_RANGE = (0.06, 1.0)
HETEROGENEOUS_SURROUND_RANGE = (1.25, 4.5)
#: Mean extra fields per cell, 1 + Poisson(rate), for multifield/heterogeneous.
DEFAULT_FIELDS_RATE = 3.0


def _positive_finite(name: str, value: Any, unit: str = "") -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        suffix = f" (in {unit})" if unit else ""
        raise ValueError(
            f"{name} must be a positive finite number{suffix}, got {value!r}"
        )
    return number


@dataclass(frozen=True)
class Encoding:
    """A target encoding and every parameter that fixes its targets.

    Parameters
    ----------
    name : str
        One of :data:`ENCODINGS`.
    width : float, optional
        Place-cell width sigma (m); required except for cartesian and polar.
    surround_scale : float
        Surround scale s (> 1 for the difference encodings), read with
        ``convention``.
    convention : {"paper", "sorscher"}
        Surround convention (see :mod:`theory.conventions`).
    alpha_e, alpha_i : float
        Centre and surround amplitudes of ``general_dog`` (only their ratio
        matters); ``dog`` is the case alpha_e = alpha_i.
    n_cells : int
        Number of readout cells.
    fields_rate : float, optional
        Each cell has 1 + Poisson(fields_rate) fields; default 3 for
        multifield and heterogeneous, 0 otherwise.
    field_rule : {"nearest", "sum"}
        How several fields of one cell combine.
    width_range, surround_scale_range : (low, high), optional
        Per-cell uniform draws; heterogeneous defaults to the paper's ranges.
    kappa : float
        Concentration of the polar encoding's angular units.
    low_dim : bool
        Cartesian only: the 2-D target (x, y) instead of A x + b.
    box_width, box_height : float
        The box (m); ``box_height`` defaults to ``box_width``.
    periodic : bool
        Whether the box is a torus.
    """

    name: str
    width: float | None = None
    surround_scale: float = 2.0
    convention: str = DEFAULT_CONVENTION
    alpha_e: float = 1.0
    alpha_i: float = 1.0
    n_cells: int = 512
    fields_rate: float | None = None
    field_rule: str = "nearest"
    width_range: tuple[float, float] | None = None
    surround_scale_range: tuple[float, float] | None = None
    kappa: float = 1.0
    low_dim: bool = False
    box_width: float = 2.2
    box_height: float | None = None
    periodic: bool = False
    _resolved: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.name not in ENCODINGS:
            raise ValueError(
                f"unknown encoding {self.name!r}; choose one of {', '.join(ENCODINGS)}"
            )
        check_convention(self.convention)
        if self.field_rule not in FIELD_RULES:
            raise ValueError(
                f"field rule must be one of {', '.join(FIELD_RULES)}, "
                f"got {self.field_rule!r}"
            )
        if isinstance(self.n_cells, bool) or int(self.n_cells) != self.n_cells:
            raise ValueError(
                f"number of cells must be an integer, got {self.n_cells!r}"
            )
        if self.n_cells < 1:
            raise ValueError(f"number of cells must be at least 1, got {self.n_cells}")
        if self.name == "polar" and self.n_cells < 2:
            raise ValueError("polar needs at least 2 cells (radial and angular halves)")
        _positive_finite("box width", self.box_width, "m")
        _positive_finite("box height", self.box_height_m, "m")
        if self.needs_width:
            if self.width is None and self.width_range is None:
                raise ValueError(f"encoding {self.name!r} needs a width (m)")
            if self.width is not None:
                _positive_finite("width", self.width, "m")
        if self.is_difference and self.surround_range is None:
            _positive_finite("surround scale", self.surround_scale)
            if not self.surround_scale > 1:
                raise ValueError(
                    f"surround scale must be > 1 for encoding {self.name!r}, "
                    f"got {self.surround_scale!r}"
                )
        _positive_finite("alpha_e", self.alpha_e)
        _positive_finite("alpha_i", self.alpha_i)
        _positive_finite("kappa", self.kappa)
        if self.fields_rate is not None and not (
            math.isfinite(self.fields_rate) and self.fields_rate >= 0
        ):
            raise ValueError(f"fields rate must be >= 0, got {self.fields_rate!r}")
        for label, span in (
            ("width range", self.width_range),
            ("surround scale range", self.surround_scale_range),
        ):
            if span is not None:
                low, high = (_positive_finite(label, v) for v in span)
                if low > high:
                    raise ValueError(f"{label} must be (low, high), got {span!r}")
        if self.surround_range is not None and self.is_difference:
            if self.surround_range[0] <= 1:
                raise ValueError(
                    f"surround scale range must lie above 1, got {self.surround_range}"
                )

    # -- derived properties -------------------------------------------------

    @property
    def needs_width(self) -> bool:
        return self.name not in WIDTHLESS_ENCODINGS

    @property
    def is_difference(self) -> bool:
        return self.name in DIFFERENCE_ENCODINGS

    @property
    def loss(self) -> str:
        """``"mse"`` for cartesian and polar, else ``"cross_entropy"``."""
        return "mse" if self.name in WIDTHLESS_ENCODINGS else "cross_entropy"

    @property
    def box_height_m(self) -> float:
        return self.box_width if self.box_height is None else self.box_height

    @property
    def fields(self) -> float:
        """Poisson rate of extra fields per cell actually used."""
        if self.fields_rate is not None:
            return float(self.fields_rate)
        if self.name in ("multifield", "heterogeneous"):
            return DEFAULT_FIELDS_RATE
        return 0.0

    @property
    def widths_range(self) -> tuple[float, float] | None:
        if self.width_range is not None:
            return tuple(self.width_range)
        return HETEROGENEOUS_WIDTH_RANGE if self.name == "heterogeneous" else None

    @property
    def surround_range(self) -> tuple[float, float] | None:
        if self.surround_scale_range is not None:
            return tuple(self.surround_scale_range)
        if self.name == "heterogeneous":
            return HETEROGENEOUS_SURROUND_RANGE
        return None

    @property
    def amplitudes(self) -> tuple[float, float]:
        """(alpha_E, alpha_I) as used: equal for ``dog``."""
        if self.name == "dog":
            return 1.0, 1.0
        return float(self.alpha_e), float(self.alpha_i)

    @property
    def surround_width(self) -> float | None:
        """Sigma of the surround (m) for the shared width, convention applied."""
        if self.width is None or not self.is_difference:
            return None
        return float(surround_width(self.width, self.surround_scale, self.convention))

    @property
    def n_outputs(self) -> int:
        """Dimension of the target vector."""
        return 2 if (self.name == "cartesian" and self.low_dim) else int(self.n_cells)

    def to_dict(self) -> dict[str, Any]:
        """Every parameter, for a run's ``config.json``."""
        out = asdict(self)
        out.pop("_resolved")
        out["box_height"] = self.box_height_m
        out["fields_rate"] = self.fields
        out["width_range"] = self.widths_range
        out["surround_scale_range"] = self.surround_range
        out["loss"] = self.loss
        return out

    # -- populations and targets --------------------------------------------

    def draw_cells(self, seed: int | Any = 0, centres: Any = None) -> PlaceCells:
        """A seeded place-cell population for this encoding."""
        return draw_place_cells(
            int(self.n_cells),
            width=self.width if self.width is not None else 1.0,
            surround_scale=self.surround_scale,
            convention=self.convention,
            box_width=self.box_width,
            box_height=self.box_height_m,
            periodic=self.periodic,
            fields_rate=self.fields,
            width_range=self.widths_range,
            surround_scale_range=self.surround_range,
            centres=centres,
            seed=seed,
        )

    def targets(self, positions: Any, cells: PlaceCells) -> Any:
        """Targets at ``positions`` for the population ``cells``.

        Parameters
        ----------
        positions : array, shape (..., 2)
            Positions (x, y) in metres; numpy or torch (the cells' arrays must
            be of the same library, see :meth:`PlaceCells.convert`).
        cells : PlaceCells
            The population.

        Returns
        -------
        array, shape (..., n_outputs)
            Probability vectors (summing to 1 over the last axis) for the
            cross-entropy encodings; real vectors for cartesian and polar.
        """
        xp = array_namespace(positions)
        if self.name == "cartesian":
            if self.low_dim:
                return positions
            return positions @ xp.permute_dims(cells.weights, (1, 0)) + cells.offsets
        if self.name == "polar":
            return _polar(positions, cells, self.kappa, xp)

        a = _scaled_squared_distances(positions, cells, xp)  # (..., n, f)
        ratio = (cells.widths / cells.surround_widths)[:, None] ** 2  # (n, 1)
        if self.field_rule == "nearest" and a.shape[-1] > 1:
            a = xp.min(a, axis=-1, keepdims=True)  # (..., n, 1)
        b = a * ratio

        if self.name == "gaussian":
            return _softmax_fields(-a, xp)
        if self.name == "sod":
            return _softmax_fields(-(a - b), xp)
        if self.name in ("dos", "multifield", "heterogeneous"):
            return _shift_normalise(
                _softmax_fields(-a, xp) - _softmax_fields(-b, xp), xp
            )
        alpha_e, alpha_i = self.amplitudes  # dog, general_dog
        centre = xp.sum(_exp(-a, xp), axis=-1)
        surround = xp.sum(_exp(-b, xp), axis=-1)
        return _shift_normalise(alpha_e * centre - alpha_i * surround, xp)


def get_encoding(name: str, **parameters: Any) -> Encoding:
    """Build an :class:`Encoding`, validating every parameter."""
    return Encoding(name=name, **parameters)


def _scaled_squared_distances(positions, cells: PlaceCells, xp):
    """|x - c_if|^2 / (2 sigma_i^2), inf for absent fields; shape (..., n, f).

    The two coordinates are handled one at a time rather than along a trailing
    axis of length 2, which torch reduces slowly; the arithmetic is the same.
    """
    squared = None
    for axis, side in enumerate((cells.box_width, cells.box_height)):
        diff = positions[..., axis, None, None] - cells.centres[..., axis]
        if cells.periodic:
            diff = diff - side * xp.round(diff / side)
        squared = diff * diff if squared is None else squared + diff * diff
    scaled = squared / (2 * cells.widths[:, None] ** 2)
    if scaled.shape[-1] == 1:  # one field per cell: none absent
        return scaled
    return xp.where(cells.field_mask, scaled, xp.asarray(math.inf, dtype=scaled.dtype))


def _exp(exponents, xp):
    """exp, with results below the normal floating-point range raised into it.

    Arguments below log(tiny) + 1 (about -86 in float32, -707 in float64) are
    raised to that bound, so the smallest result is about 3e-38 (float32)
    instead of zero or a subnormal number: no sum or difference of targets
    changes measurably, and torch's CPU exp, about 50 times slower on
    arguments that underflow, stays on its fast path.
    """
    floor = math.log(xp.finfo(exponents.dtype).tiny) + 1
    return xp.exp(xp.maximum(exponents, xp.asarray(floor, dtype=exponents.dtype)))


def _softmax_fields(logits, xp):
    """Softmax over all (cell, field) pairs, summed over each cell's fields."""
    if logits.shape[-1] == 1:
        logits = logits[..., 0]
        weights = _exp(logits - xp.max(logits, axis=-1, keepdims=True), xp)
        return weights / xp.sum(weights, axis=-1, keepdims=True)
    weights = _exp(logits - xp.max(logits, axis=(-2, -1), keepdims=True), xp)
    total = xp.sum(weights, axis=(-2, -1), keepdims=True)
    return xp.sum(weights / total, axis=-1)


def _shift_normalise(values, xp):
    """SN: add |min over cells| to every cell, then divide by the sum.

    The sum of the shifted values is taken as ``sum(values) + n |min|``, the
    same number up to rounding, so that both reductions read ``values`` once
    (compiled, this is two passes over the targets fewer).
    """
    shift = xp.abs(xp.min(values, axis=-1, keepdims=True))
    total = xp.sum(values, axis=-1, keepdims=True) + values.shape[-1] * shift
    tiny = xp.finfo(values.dtype).tiny
    return (values + shift) / xp.where(
        total > tiny, total, xp.asarray(tiny, dtype=total.dtype)
    )


def _polar(positions, cells: PlaceCells, kappa: float, xp):
    half = cells.n_cells // 2
    x, y = positions[..., 0], positions[..., 1]
    radius = xp.sqrt(x * x + y * y)[..., None]
    angle = xp.atan2(y, x)[..., None]
    radial = radius * cells.weights[:half, 0] + cells.offsets[:half]
    angular = xp.exp(kappa * xp.cos(angle - cells.angles[half:]))
    return xp.concat([radial, angular], axis=-1)
