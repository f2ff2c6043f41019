"""Lab values with their units, as site staff type them.

A value is kept exactly as entered: a :class:`~decimal.Decimal` built from the
typed digits (``"0.40"`` stays ``0.40``) and the unit it was typed in. Nothing
here uses binary floats.

Sources
-------
- docs/clinical-facts.md §4: "Chinese labs report creatinine in umol/L and albumin in
  g/L. mg/dL x 88.4 = umol/L; g/dL x 10 = g/L; mg/24 h / 1000 = g/24 h. Accept
  all of these, store value + unit as entered, and refuse physiologically
  impossible values (e.g. creatinine above 3000 umol/L, albumin above 60 g/L,
  negative anything) with a message that names the expected unit and range."
- docs/clinical-facts.md §3: "Store the raw value with its unit; never convert /uL to
  /hpf." and "Convert units only where two values differ in unit."

Choices (the facts are silent; the protocol file may override the ranges):

- Plausible ranges (:data:`DEFAULT_RANGES`), bounds inclusive:
  serum creatinine 10-3000 µmol/L (the upper bound is docs/clinical-facts.md §4's own
  example) and 0.11-33.9 mg/dL (the µmol/L bounds divided by 88.4, rounded to
  three significant figures); serum albumin 5-60 g/L (60 is docs/clinical-facts.md §4's
  example) and 0.5-6 g/dL; 24-hour urine protein 0-30 g/24h and 0-30000 mg/24h;
  urine RBC 0-1000 /hpf and 0-100000 /µL; urine WBC 0-1000 /hpf; CD20 B cells
  0-5000 /µL or 0-100 % of lymphocytes; weight 25-250 kg. Every lower bound is
  at least 0, so a negative value is always refused.
- Urine WBC is accepted only per high-power field when typed: docs/clinical-facts.md
  §3 gives an active-sediment threshold for WBC only in /hpf (> 5/hpf), so a
  WBC count in /µL could not be judged and is refused, naming the accepted
  unit. The lab file (``python -m bot endpoints``) reads one anyway
  (:data:`LAB_FILE_RANGES`, 0-100000 /µL as for RBC): a laboratory system's
  file cannot be retyped, and the sediment is then not evaluable from it.
- A comma in a number is refused rather than guessed: "1,5" may be a decimal
  comma (1.5) or a thousands separator (15 or 1500 with more digits).
- Ranges and limits as typed ("3-5/hpf", "<0.1 g/24h") are refused: the rules
  need one measured value, and picking an end would be a guess. (The lab file
  reads a protein below the detection limit itself: ``core.endpoints``.)
- A bare "g" is not accepted for 24-hour urine protein: staff must type the
  per-24-hour unit (g/24h, g/d, mg/24h ...), so a misplaced dose can't be read
  as a urine result.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, Inexact, InvalidOperation, localcontext
from enum import Enum, StrEnum
from types import MappingProxyType
from typing import Final

from core.messages import N_, RuleError

__all__ = [
    "ANALYTE_LABELS",
    "CANONICAL_UNIT",
    "DEFAULT_RANGES",
    "LAB_FILE_RANGES",
    "Analyte",
    "CastKind",
    "InexactConversionError",
    "Quantity",
    "Range",
    "Unit",
    "align",
    "canonical",
    "compare",
    "parse_casts",
    "parse_quantity",
    "to_unit",
]


class Unit(Enum):
    """A unit a value can be entered in. The value is a stable ASCII code."""

    G_PER_24H = "g/24h"
    MG_PER_24H = "mg/24h"
    G_PER_L = "g/L"
    G_PER_DL = "g/dL"
    UMOL_PER_L = "umol/L"
    MG_PER_DL = "mg/dL"
    PER_HPF = "/hpf"
    PER_UL = "/uL"
    PERCENT = "%"
    KG = "kg"
    MG = "mg"
    G = "g"

    @property
    def symbol(self) -> str:
        """The unit as printed for people (``µmol/L``, ``/µL``)."""
        return _SYMBOLS.get(self, self.value)

    @property
    def suffix(self) -> str:
        """What follows the number: ``" µmol/L"``, or ``"/hpf"`` with no space."""
        return self.symbol if self in _NO_SPACE else " " + self.symbol


_SYMBOLS: Final[Mapping[Unit, str]] = MappingProxyType(
    {Unit.UMOL_PER_L: "µmol/L", Unit.PER_UL: "/µL"}
)

# Units written straight after the number ("2/hpf", "40%"); others take a space.
_NO_SPACE: Final = frozenset({Unit.PER_HPF, Unit.PER_UL, Unit.PERCENT})


def _plain(value: Decimal) -> str:
    # Fixed-point, never "1E+3"; keeps the entered trailing zeros ("0.40").
    return format(value, "f")


@dataclass(frozen=True, slots=True)
class Quantity:
    """A measured value exactly as entered (``value``) and its ``unit``."""

    value: Decimal
    unit: Unit

    def __post_init__(self) -> None:
        if not isinstance(self.value, Decimal) or not self.value.is_finite():
            raise ValueError(f"Quantity needs a finite Decimal, got {self.value!r}")

    @property
    def text(self) -> str:
        """Value and unit as people read them, e.g. ``69 µmol/L`` or ``2/hpf``."""
        return f"{_plain(self.value)}{self.unit.suffix}"

    def __str__(self) -> str:
        return self.text


class Analyte(Enum):
    """What was measured; values are the analyte names used in lab files."""

    URINE_PROTEIN_24H = "urine_protein_24h"
    URINE_RBC = "urine_rbc"
    URINE_WBC = "urine_wbc"
    SERUM_ALBUMIN = "serum_albumin"
    SERUM_CREATININE = "serum_creatinine"
    CD20 = "cd20"
    WEIGHT = "weight"


# Names shown in refusals. They are msgids: the bot translates them like any
# other N_-marked string before filling the placeholder.
ANALYTE_LABELS: Final[Mapping[Analyte, str]] = MappingProxyType(
    {
        Analyte.URINE_PROTEIN_24H: N_("24-hour urine protein"),
        Analyte.URINE_RBC: N_("Urine RBC"),
        Analyte.URINE_WBC: N_("Urine WBC"),
        Analyte.SERUM_ALBUMIN: N_("Serum albumin"),
        Analyte.SERUM_CREATININE: N_("Serum creatinine"),
        Analyte.CD20: N_("CD20 B cells"),
        Analyte.WEIGHT: N_("Weight"),
    }
)

_EXAMPLES: Final[Mapping[Analyte, str]] = MappingProxyType(
    {
        Analyte.URINE_PROTEIN_24H: "0.39 g/24h",
        Analyte.URINE_RBC: "2/hpf",
        Analyte.URINE_WBC: "3/hpf",
        Analyte.SERUM_ALBUMIN: "39 g/L",
        Analyte.SERUM_CREATININE: "69 µmol/L",
        Analyte.CD20: "150/µL",
        Analyte.WEIGHT: "62 kg",
    }
)


@dataclass(frozen=True, slots=True)
class Range:
    """An inclusive plausible range ``low <= value <= high`` in one unit."""

    low: Decimal
    high: Decimal

    def __post_init__(self) -> None:
        if not (self.low.is_finite() and self.high.is_finite() and self.low <= self.high):
            raise ValueError(f"bad range {self.low!r}..{self.high!r}")

    def __contains__(self, value: object) -> bool:
        return isinstance(value, Decimal) and self.low <= value <= self.high


def _r(low: str, high: str) -> Range:
    return Range(Decimal(low), Decimal(high))


# Per analyte, the accepted units (in the order named to staff, the unit the
# site's lab reports first) and the plausible range in each. See the module
# docstring for which numbers are choices.
DEFAULT_RANGES: Final[Mapping[Analyte, Mapping[Unit, Range]]] = MappingProxyType(
    {
        Analyte.URINE_PROTEIN_24H: MappingProxyType(
            {Unit.G_PER_24H: _r("0", "30"), Unit.MG_PER_24H: _r("0", "30000")}
        ),
        Analyte.URINE_RBC: MappingProxyType(
            {Unit.PER_HPF: _r("0", "1000"), Unit.PER_UL: _r("0", "100000")}
        ),
        Analyte.URINE_WBC: MappingProxyType({Unit.PER_HPF: _r("0", "1000")}),
        Analyte.SERUM_ALBUMIN: MappingProxyType(
            {Unit.G_PER_L: _r("5", "60"), Unit.G_PER_DL: _r("0.5", "6")}
        ),
        Analyte.SERUM_CREATININE: MappingProxyType(
            {Unit.UMOL_PER_L: _r("10", "3000"), Unit.MG_PER_DL: _r("0.11", "33.9")}
        ),
        Analyte.CD20: MappingProxyType(
            {Unit.PER_UL: _r("0", "5000"), Unit.PERCENT: _r("0", "100")}
        ),
        Analyte.WEIGHT: MappingProxyType({Unit.KG: _r("25", "250")}),
    }
)

# The lab file's ranges: also urine WBC per µL (an analyser's count; see the module docstring).
LAB_FILE_RANGES: Final[Mapping[Analyte, Mapping[Unit, Range]]] = MappingProxyType(
    {
        **DEFAULT_RANGES,
        Analyte.URINE_WBC: MappingProxyType(
            {Unit.PER_HPF: _r("0", "1000"), Unit.PER_UL: _r("0", "100000")}
        ),
    }
)

# What staff type, after NFKC (full-width forms and the micro sign µ become
# ASCII and Greek μ), lower-casing and removing spaces. "个" is the Chinese
# counter lab reports put before /HP and /μL.
_UNIT_ALIASES: Final[Mapping[str, Unit]] = MappingProxyType(
    {
        **dict.fromkeys(
            ("g/24h", "g/24hr", "g/24hrs", "g/24hours", "g/d", "g/day"), Unit.G_PER_24H
        ),
        **dict.fromkeys(
            ("mg/24h", "mg/24hr", "mg/24hrs", "mg/24hours", "mg/d", "mg/day"), Unit.MG_PER_24H
        ),
        "g/l": Unit.G_PER_L,
        "g/dl": Unit.G_PER_DL,
        **dict.fromkeys(("μmol/l", "umol/l"), Unit.UMOL_PER_L),
        "mg/dl": Unit.MG_PER_DL,
        **dict.fromkeys(("/hpf", "/hp", "个/hpf", "个/hp", "cells/hpf"), Unit.PER_HPF),
        **dict.fromkeys(("/ul", "/μl", "个/ul", "个/μl", "cells/ul", "cells/μl"), Unit.PER_UL),
        "%": Unit.PERCENT,
        **dict.fromkeys(("kg", "公斤"), Unit.KG),
        "mg": Unit.MG,
        "g": Unit.G,
    }
)

_MAX_DIGITS: Final = 15  # far more than any lab prints; keeps conversions exact
_LIMIT_PREFIXES: Final = ("<", ">", "≤", "≥", "<=", ">=")
_NUMBER = re.compile(r"(?P<sign>[+\-−])?\s*(?P<num>[0-9.,]+)(?P<rest>.*)", re.DOTALL)
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_RANGE_REST = re.compile(r"\s*[-~〜–—]\s*[0-9.]")


def _units_list(units: Mapping[Unit, Range]) -> str:
    return ", ".join(u.symbol for u in units)


def _ranges_list(units: Mapping[Unit, Range]) -> str:
    return ", ".join(f"{_plain(r.low)}–{_plain(r.high)} {u.symbol}" for u, r in units.items())


def parse_quantity(
    analyte: Analyte,
    text: str,
    ranges: Mapping[Analyte, Mapping[Unit, Range]] = DEFAULT_RANGES,
) -> Quantity:
    """Read a value with its unit as staff type it, or refuse it.

    Accepts ``69umol/L``, ``0.78 mg/dL``, ``39g/L``, ``3.9 g/dL``, ``390mg/24h``,
    ``0.39 g/24h`` (also ``g/24 h``, ``g/d``, ``g/day``), ``2/hpf`` (``/HP``),
    ``150/uL`` (``/µL``, ``/μL``), in any case, with or without spaces, in
    full-width characters too. The value is kept exactly as typed.

    Refuses, with a :class:`RuleError` naming the accepted units or range: a
    missing unit; a unit that is not accepted for ``analyte`` (the accepted
    units are the keys of ``ranges[analyte]``); anything that is not one plain
    decimal number (NaN, infinity, ``1,5``, ``3-5``, ``<0.1``); a value outside
    the plausible range for its unit, negative values included.

    Source: docs/clinical-facts.md §4 ("accept all of these, store value + unit as
    entered, and refuse physiologically impossible values ... with a message
    that names the expected unit and range"). The default ranges are partly
    choices: see the module docstring.
    """
    accepted = ranges[analyte]
    label = ANALYTE_LABELS[analyte]
    example = _EXAMPLES[analyte]
    units = _units_list(accepted)
    clean = unicodedata.normalize("NFKC", text).strip()

    if clean.startswith(_LIMIT_PREFIXES):
        raise RuleError(
            N_(
                '{analyte}: "{text}" is not a single measured value. '
                "Enter one number with its unit, for example {example}."
            ),
            analyte=label,
            text=text,
            example=example,
            analyte_key=analyte.value,
        )
    match = _NUMBER.fullmatch(clean)
    if match is None:
        raise RuleError(
            N_('{analyte}: "{text}" is not a number followed by a unit, for example {example}.'),
            analyte=label,
            text=text,
            example=example,
            analyte_key=analyte.value,
        )
    num, rest = match["num"], match["rest"]
    if "," in num:
        raise RuleError(
            N_(
                '{analyte}: "{text}" contains a comma. Use a decimal point, for example '
                "{example}; thousands separators are not accepted."
            ),
            analyte=label,
            text=text,
            example=example,
            analyte_key=analyte.value,
        )
    if _RANGE_REST.match(rest):
        raise RuleError(
            N_(
                '{analyte}: "{text}" is not a single measured value. '
                "Enter one number with its unit, for example {example}."
            ),
            analyte=label,
            text=text,
            example=example,
            analyte_key=analyte.value,
        )
    if _DECIMAL.fullmatch(num) is None:
        raise RuleError(
            N_('{analyte}: "{text}" is not a number followed by a unit, for example {example}.'),
            analyte=label,
            text=text,
            example=example,
            analyte_key=analyte.value,
        )
    if sum(c.isdigit() for c in num) > _MAX_DIGITS:
        raise RuleError(
            N_('{analyte}: "{text}" has too many digits.'),
            analyte=label,
            text=text,
            analyte_key=analyte.value,
        )
    try:
        value = Decimal(num)
    except InvalidOperation:  # pragma: no cover - the pattern above admits only valid literals
        raise RuleError(
            N_('{analyte}: "{text}" is not a number followed by a unit, for example {example}.'),
            analyte=label,
            text=text,
            example=example,
            analyte_key=analyte.value,
        ) from None
    if match["sign"] in ("-", "−") and value != 0:
        value = -value

    unit_text = "".join(rest.split()).lower()
    if not unit_text:
        raise RuleError(
            N_("{analyte} needs a unit. Accepted units: {units}."),
            analyte=label,
            units=units,
            analyte_key=analyte.value,
        )
    unit = _UNIT_ALIASES.get(unit_text)
    if unit is None or unit not in accepted:
        raise RuleError(
            N_('{analyte} cannot be entered in "{unit}". Accepted units: {units}.'),
            analyte=label,
            unit=unit.symbol if unit is not None else rest.strip(),
            units=units,
            analyte_key=analyte.value,
        )
    plausible = accepted[unit]
    if value not in plausible:
        raise RuleError(
            N_(
                "{analyte} must be between {low} and {high} {unit}; {value} {unit} is outside "
                "that range. Accepted ranges: {ranges}."
            ),
            analyte=label,
            low=plausible.low,
            high=plausible.high,
            unit=unit.symbol,
            value=value,
            ranges=_ranges_list(accepted),
            analyte_key=analyte.value,
        )
    return Quantity(value, unit)


class CastKind(StrEnum):
    """A kind of cellular urinary cast that counts for active sediment."""

    RBC = "rbc"
    WBC = "wbc"


_CAST_NONE: Final = frozenset({"none", "no", "nil", "negative", "neg", "0", "无", "阴性", "未见"})
_CAST_TOKENS: Final[Mapping[str, CastKind]] = MappingProxyType(
    {
        **dict.fromkeys(
            ("rbc", "rbccast", "rbccasts", "redcell", "redcellcast", "redcellcasts"), CastKind.RBC
        ),
        **dict.fromkeys(("红细胞管型", "红细胞"), CastKind.RBC),
        **dict.fromkeys(
            ("wbc", "wbccast", "wbccasts", "whitecell", "whitecellcast", "whitecellcasts"),
            CastKind.WBC,
        ),
        **dict.fromkeys(("白细胞管型", "白细胞"), CastKind.WBC),
    }
)
_CAST_SPLIT = re.compile(r"\s*(?:\+|,|、|/|&|\band\b|和|及)\s*")


def parse_casts(text: str) -> frozenset[CastKind]:
    """Read the cellular casts seen in a urine sediment.

    Accepts ``none``, ``rbc``, ``wbc``, ``rbc+wbc`` (also ``wbc, rbc``,
    ``rbc casts``, ``red cell casts``) and Chinese ``无`` / ``阴性``,
    ``红细胞管型``, ``白细胞管型`` (joined with ``+``, ``、`` or ``和``). Returns the
    set of cast kinds, empty for none. Refuses anything else, and "none"
    together with a cast, with a :class:`RuleError` listing what is accepted.

    Source: docs/clinical-facts.md §3, active urinary sediment includes "RBC/WBC
    cellular casts" (ACR 2012); other cast types (hyaline, granular) do not
    count and are not recorded here.
    """
    clean = unicodedata.normalize("NFKC", text).strip().lower()
    tokens = ["".join(p.split()) for p in _CAST_SPLIT.split(clean) if p.strip()]
    says_none = any(t in _CAST_NONE for t in tokens)
    kinds = {_CAST_TOKENS[t] for t in tokens if t in _CAST_TOKENS}
    understood = all(t in _CAST_NONE or t in _CAST_TOKENS for t in tokens)
    if not tokens or not understood or (says_none and kinds):
        raise RuleError(
            N_(
                'Urinary casts: "{text}" is not understood. Enter none, rbc, wbc or rbc+wbc '
                "(无, 红细胞管型, 白细胞管型)."
            ),
            text=text,
        )
    return frozenset(kinds)


# --- conversions -----------------------------------------------------------

# The only conversions there are (docs/clinical-facts.md §4), each as "multiply by".
# The reverse directions divide; see to_unit.
_FACTORS: Final[Mapping[tuple[Unit, Unit], Decimal]] = MappingProxyType(
    {
        (Unit.MG_PER_DL, Unit.UMOL_PER_L): Decimal("88.4"),
        (Unit.G_PER_DL, Unit.G_PER_L): Decimal("10"),
        (Unit.MG_PER_24H, Unit.G_PER_24H): Decimal("0.001"),
    }
)

CANONICAL_UNIT: Final[Mapping[Unit, Unit]] = MappingProxyType(
    {Unit.MG_PER_DL: Unit.UMOL_PER_L, Unit.G_PER_DL: Unit.G_PER_L, Unit.MG_PER_24H: Unit.G_PER_24H}
)


class InexactConversionError(ValueError):
    """The converted value has no exact decimal form (e.g. 69 µmol/L in mg/dL)."""


def to_unit(q: Quantity, unit: Unit, *, exact: bool = True) -> Quantity:
    """Convert ``q`` to ``unit`` along one of the protocol's conversions.

    mg/dL x 88.4 = µmol/L; g/dL x 10 = g/L; mg/24h / 1000 = g/24h, and the
    reverse of each. Toward µmol/L, g/L and g/24h the result is always exact
    (multiplication by 88.4 or 10, a shift for /1000). The reverse of the
    creatinine conversion divides by 88.4, which usually has no exact decimal
    result: with ``exact=True`` (the default) that raises
    :class:`InexactConversionError`; ``exact=False`` rounds to 28 significant
    digits, for display only. The response rules only ever convert toward
    µmol/L, g/L and g/24h (see :func:`align`), so their comparisons are exact.

    A count per µL (analyser) and a count per high-power field (microscopy)
    are different methods: converting between them raises :class:`RuleError`.
    Any other pair of units has no conversion and raises :class:`ValueError`.

    Source: docs/clinical-facts.md §4 (the factors) and §3 ("never convert /uL to
    /hpf").
    """
    if q.unit is unit:
        return q
    if {q.unit, unit} == {Unit.PER_UL, Unit.PER_HPF}:
        raise RuleError(
            N_(
                "A count per µL (analyser) cannot be converted to a count per high-power field "
                "(microscopy), or back."
            )
        )
    if (q.unit, unit) in _FACTORS:
        factor, divide = _FACTORS[q.unit, unit], False
    elif (unit, q.unit) in _FACTORS:
        factor, divide = _FACTORS[unit, q.unit], True
    else:
        raise ValueError(f"no conversion from {q.unit.symbol} to {unit.symbol}")
    with localcontext() as ctx:
        if exact:
            ctx.prec = 60  # parse_quantity caps inputs at 15 digits: products fit
            ctx.traps[Inexact] = True
        try:
            value = q.value / factor if divide else q.value * factor
        except Inexact:
            raise InexactConversionError(
                f"{q.text} has no exact value in {unit.symbol}; pass exact=False for display"
            ) from None
    return Quantity(value, unit)


def canonical(q: Quantity) -> Quantity:
    """``q`` in the protocol's comparison unit (µmol/L, g/L, g/24h), exactly.

    Units without a conversion (/hpf, /µL, %, kg, mg, g) come back unchanged.
    Source: docs/clinical-facts.md §4 (the conversions are exact multiplications in
    this direction).
    """
    target = CANONICAL_UNIT.get(q.unit)
    return q if target is None else to_unit(q, target)


def align(a: Quantity, b: Quantity) -> tuple[Quantity, Quantity]:
    """Put ``a`` and ``b`` in one unit so they can be compared exactly.

    If both are in the same unit they are returned untouched; only when they
    differ are both converted to the comparison unit (µmol/L, g/L, g/24h),
    which is exact. Raises :class:`RuleError` for /µL against /hpf and
    :class:`ValueError` for units that measure different things.

    Source: docs/clinical-facts.md §3, "Convert units only where two values differ in
    unit"; §4 for the factors.
    """
    if a.unit is b.unit:
        return a, b
    if {a.unit, b.unit} == {Unit.PER_UL, Unit.PER_HPF}:
        to_unit(a, b.unit)  # raises the translatable refusal
    ca, cb = canonical(a), canonical(b)
    if ca.unit is not cb.unit:
        raise ValueError(f"cannot compare {a.unit.symbol} with {b.unit.symbol}")
    return ca, cb


def compare(a: Quantity, b: Quantity) -> int:
    """-1, 0 or 1 as ``a`` is less than, equal to or greater than ``b``.

    Exact: the values are compared as entered when the units agree, otherwise
    after an exact conversion to the comparison unit (see :func:`align`).
    Source: docs/clinical-facts.md §3, "Compare in exact decimal arithmetic ... Convert
    units only where two values differ in unit".
    """
    x, y = align(a, b)
    return (x.value > y.value) - (x.value < y.value)
