"""Dose arithmetic: belimumab vial plans, the methylprednisolone pulse total, and
the daily totals of mycophenolate mofetil and tacrolimus.

Sources: docs/clinical-facts.md §2 and docs/registry-record.txt ("belimumab at a dose of 10mg
per kilogram"; "Methylprednisolone pulse therapy, total dose from 1500mg to
3000mg"; "Mycophenolate Mofetil, oral, 1.0-1.5g per day"; "Tacrolimus, oral,
2-4mg per day"); belimumab preparation from the product label.

All arithmetic is exact :class:`~decimal.Decimal` built from the entered text.
Ranges written "from A to B" or "A-B" are inclusive at both ends.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from types import MappingProxyType

from core.messages import N_, RuleError
from core.vocabulary import Drug as Drug

BELIMUMAB_PREPARATION: tuple[str, ...] = (
    N_(
        "Reconstitute each 120 mg vial with 1.5 mL and each 400 mg vial with 4.8 mL of sterile"
        " water for injection, giving 80 mg/mL."
    ),
    N_(
        "Dilute the dose to 250 mL with sodium chloride 0.9%: first withdraw and discard from the"
        " 250 mL bag the same volume of saline as the belimumab you will add."
    ),
    # "0.9% s" and "5% d" would read as %-format specs to pybabel, hence the word order.
    N_("Never dilute belimumab in dextrose 5% (glucose): it is incompatible."),
    N_("Infuse over 1 hour."),
    N_("Finish the infusion within 8 hours of reconstitution."),
)
"""Belimumab preparation facts from the label (docs/clinical-facts.md §2), as message ids."""

VOLUME_DISPLAY_STEP = Decimal("0.01")

# Message ids.
WEIGHT_NOT_A_NUMBER = N_("The weight must be a number of kilograms (kg).")
WEIGHT_NOT_POSITIVE = N_("The weight must be more than 0 kg; {weight} kg was entered.")
WEIGHT_OUT_OF_RANGE = N_(
    "The weight {weight} kg is outside the accepted range of {low} to {high} kg. Enter the"
    " weight in kilograms (kg)."
)
MP_DOSE_NOT_POSITIVE = N_(
    "A methylprednisolone dose must be more than 0 mg; {dose} mg was entered."
)
MP_DOSE_TOO_HIGH = N_(
    "A methylprednisolone dose of {dose} mg in one day is more than the {limit} mg accepted."
    " Check the dose and that it is in mg."
)
MMF_IMPLAUSIBLE = N_(
    "Mycophenolate mofetil {total} g in one day is more than the {limit} g accepted."
    " Check the dose and that it is in g or mg."
)
TACROLIMUS_IMPLAUSIBLE = N_(
    "Tacrolimus {total} mg in one day is more than the {limit} mg accepted."
    " Check the dose and that it is in mg."
)
MP_TOTAL_BELOW = N_(
    "The cumulative methylprednisolone pulse dose is {total} mg, below the protocol range"
    " of {low} to {high} mg."
)
MP_TOTAL_ABOVE = N_(
    "The cumulative methylprednisolone pulse dose is {total} mg, above the protocol range"
    " of {low} to {high} mg."
)
MMF_OUTSIDE = N_(
    "The mycophenolate mofetil daily total of {total} {unit} is outside the protocol range"
    " of {low} to {high} {unit}."
)
TACROLIMUS_OUTSIDE = N_(
    "The tacrolimus daily total of {total} {unit} is outside the protocol range of {low} to"
    " {high} {unit}."
)
DOSE_UNREADABLE = N_(
    "'{text}' is not a dose. Write a number followed by its unit, for example {example}."
)
DOSE_UNIT_MISSING = N_("'{text}' has no unit. Write the unit too, for example {example}.")
DOSE_UNIT_NOT_ACCEPTED = N_("'{unit}' is not an accepted unit here. Accepted units: {accepted}.")
DOSE_NOT_POSITIVE = N_("A dose must be more than 0; '{text}' was entered.")


def _plain(value: Decimal) -> str:
    # Placeholders get plain text without exponents: Decimal("1E+3") must read "1000".
    return format(value.normalize(), "f")


class RangeStatus(Enum):
    """Where a total lies relative to an inclusive protocol range."""

    BELOW = "below"
    WITHIN = "within"
    ABOVE = "above"


def _status(value: Decimal, low: Decimal, high: Decimal) -> RangeStatus:
    if value < low:
        return RangeStatus.BELOW
    if value > high:
        return RangeStatus.ABOVE
    return RangeStatus.WITHIN


class RangePolicy(Enum):
    """What a daily total outside its range does: flag it, or refuse the entry."""

    FLAG = "flag"
    REFUSE = "refuse"


# ---------------------------------------------------------------- belimumab


@dataclass(frozen=True, slots=True)
class BelimumabPlan:
    """A belimumab dose and the vials to open for it.

    ``vials`` lists vial sizes (mg) largest first, one entry per vial.
    ``volume_ml`` is exact; ``volume_ml_display`` is rounded half-up to 0.01 mL.
    """

    weight_kg: Decimal
    mg_per_kg: Decimal
    dose_mg: Decimal
    vials: tuple[int, ...]
    total_mg: Decimal
    waste_mg: Decimal
    concentration_mg_per_ml: Decimal
    volume_ml: Decimal
    volume_ml_display: Decimal

    @property
    def vial_counts(self) -> tuple[tuple[int, int], ...]:
        """``(size_mg, count)`` pairs, largest size first, sizes not used left out."""
        return tuple((size, self.vials.count(size)) for size in sorted(set(self.vials))[::-1])


def check_weight(
    weight_kg: Decimal,
    *,
    min_weight_kg: Decimal = Decimal(25),
    max_weight_kg: Decimal = Decimal(250),
) -> Decimal:
    """Return ``weight_kg`` if it is a plausible adult weight, else refuse it.

    Refuses a non-number, a weight of 0 kg or less, and a weight outside the
    inclusive range ``min_weight_kg``-``max_weight_kg`` (default 25-250 kg, a
    protocol choice: the facts give no range), naming the range and the unit kg.
    Source: docs/DESIGN.md §4 "Values outside physiological ranges are refused".
    """
    if not weight_kg.is_finite():
        raise RuleError(WEIGHT_NOT_A_NUMBER)
    if weight_kg <= 0:
        raise RuleError(WEIGHT_NOT_POSITIVE, weight=_plain(weight_kg))
    if not min_weight_kg <= weight_kg <= max_weight_kg:
        raise RuleError(
            WEIGHT_OUT_OF_RANGE,
            weight=_plain(weight_kg),
            low=_plain(min_weight_kg),
            high=_plain(max_weight_kg),
        )
    return weight_kg


def _ceil_div(amount: Decimal, size: int) -> int:
    # divmod on Decimal is exact, unlike a rounded quotient fed to ceil().
    if amount <= 0:
        return 0
    whole, rest = divmod(amount, size)
    return int(whole) + (1 if rest else 0)


def choose_vials(dose_mg: Decimal, vial_sizes: Sequence[int]) -> tuple[int, ...]:
    """Choose vials that cover ``dose_mg``: least waste first, then fewest vials.

    Returns vial sizes largest first, one entry per vial. A remaining tie (only
    possible with unusual vial sizes) goes to the combination with more of the
    larger vials. Source: docs/clinical-facts.md §2 ("least waste first, then fewest
    vials (62 kg -> 620 mg -> 400 + 120 + 120 mg)").
    """
    sizes = sorted(set(vial_sizes), reverse=True)
    if not sizes or len(sizes) != len(vial_sizes) or any(size <= 0 for size in sizes):
        raise ValueError(f"vial sizes must be distinct positive integers: {vial_sizes!r}")
    if dose_mg <= 0:
        raise ValueError(f"dose must be positive: {dose_mg}")
    head, last = sizes[:-1], sizes[-1]
    best: tuple[tuple[Decimal, int, tuple[int, ...]], tuple[int, ...]] | None = None
    # For any choice of the larger vials, the best number of the smallest one is the
    # fewest that cover the rest: one more only adds waste and a vial. So enumerating
    # the larger sizes (each up to the count that alone covers the dose) is exhaustive.
    for head_counts in itertools.product(*(range(_ceil_div(dose_mg, s) + 1) for s in head)):
        covered = sum(count * size for count, size in zip(head_counts, head, strict=True))
        counts = (*head_counts, _ceil_div(dose_mg - covered, last))
        total = sum(count * size for count, size in zip(counts, sizes, strict=True))
        key = (total - dose_mg, sum(counts), tuple(-count for count in counts))
        if best is None or key < best[0]:
            best = (key, counts)
    assert best is not None
    return tuple(size for size, count in zip(sizes, best[1], strict=True) for _ in range(count))


def belimumab_plan(
    weight_kg: Decimal,
    mg_per_kg: Decimal = Decimal(10),
    vial_sizes: Sequence[int] = (400, 120),
    concentration_mg_per_ml: Decimal = Decimal(80),
    *,
    min_weight_kg: Decimal = Decimal(25),
    max_weight_kg: Decimal = Decimal(250),
) -> BelimumabPlan:
    """Belimumab dose, vials and volume to withdraw for a body weight.

    dose (mg) = ``mg_per_kg`` x weight (kg), exact and not rounded; vials by
    :func:`choose_vials` (least waste, then fewest vials); volume to withdraw (mL)
    = dose / concentration (80 mg/mL once reconstituted), exact, plus a display
    value rounded half-up to 0.01 mL. The weight is checked by
    :func:`check_weight`. Sources: docs/registry-record.txt ("belimumab at a dose of 10mg
    per kilogram"); docs/clinical-facts.md §2 (vials of 120 mg and 400 mg, 80 mg/mL,
    "volume to withdraw = dose / 80 mL").
    """
    if mg_per_kg <= 0 or concentration_mg_per_ml <= 0:
        raise ValueError("mg_per_kg and concentration_mg_per_ml must be positive")
    check_weight(weight_kg, min_weight_kg=min_weight_kg, max_weight_kg=max_weight_kg)
    dose = weight_kg * mg_per_kg
    vials = choose_vials(dose, vial_sizes)
    total = Decimal(sum(vials))
    volume = dose / concentration_mg_per_ml
    return BelimumabPlan(
        weight_kg=weight_kg,
        mg_per_kg=mg_per_kg,
        dose_mg=dose,
        vials=vials,
        total_mg=total,
        waste_mg=total - dose,
        concentration_mg_per_ml=concentration_mg_per_ml,
        volume_ml=volume,
        volume_ml_display=volume.quantize(VOLUME_DISPLAY_STEP, rounding=ROUND_HALF_UP),
    )


# ---------------------------------------------------------- methylprednisolone


@dataclass(frozen=True, slots=True)
class MpStatus:
    """Cumulative methylprednisolone pulse dose against the protocol range.

    ``warning`` is a message id when the total lies outside the range (fill it
    with :attr:`warning_params`), else ``None``.
    """

    doses_mg: tuple[Decimal, ...]
    total_mg: Decimal
    low_mg: Decimal
    high_mg: Decimal
    status: RangeStatus
    warning: str | None

    @property
    def warning_params(self) -> dict[str, str]:
        """Values for the placeholders of :attr:`warning`."""
        return {
            "total": _plain(self.total_mg),
            "low": _plain(self.low_mg),
            "high": _plain(self.high_mg),
        }


def mp_cumulative(
    doses_mg: Sequence[Decimal],
    low: Decimal = Decimal(1500),
    high: Decimal = Decimal(3000),
    max_single_dose_mg: Decimal = Decimal(1000),
) -> MpStatus:
    """Sum the daily methylprednisolone pulse doses and place the total in the range.

    Each element is one day's dose in mg. The total is compared with the
    inclusive range ``low``-``high`` (registry: "Methylprednisolone pulse therapy,
    total dose from 1500mg to 3000mg"); outside it the status says below/above and
    the caller warns, never refuses (docs/clinical-facts.md §2, "warn outside"). A single
    day's dose of 0 mg or less, or above ``max_single_dose_mg`` (default 1000 mg,
    the usual pulse ceiling; a protocol choice), is refused as a likely typo.
    """
    if low > high:
        raise ValueError(f"low {low} is above high {high}")
    for dose in doses_mg:
        if not dose.is_finite() or dose <= 0:
            raise RuleError(MP_DOSE_NOT_POSITIVE, dose=str(dose))
        if dose > max_single_dose_mg:
            raise RuleError(MP_DOSE_TOO_HIGH, dose=_plain(dose), limit=_plain(max_single_dose_mg))
    total = sum(doses_mg, Decimal(0))
    status = _status(total, low, high)
    warning = {
        RangeStatus.BELOW: MP_TOTAL_BELOW,
        RangeStatus.WITHIN: None,
        RangeStatus.ABOVE: MP_TOTAL_ABOVE,
    }[status]
    return MpStatus(
        doses_mg=tuple(doses_mg),
        total_mg=total,
        low_mg=low,
        high_mg=high,
        status=status,
        warning=warning,
    )


# ------------------------------------------------------ oral immunosuppressants


class MassUnit(Enum):
    """Units a dose may be written in."""

    MG = "mg"
    G = "g"


_MG_PER_UNIT: Mapping[MassUnit, Decimal] = MappingProxyType(
    {MassUnit.MG: Decimal(1), MassUnit.G: Decimal(1000)}
)

_UNIT_WORDS: Mapping[str, MassUnit] = MappingProxyType(
    {
        "mg": MassUnit.MG,
        "milligram": MassUnit.MG,
        "milligrams": MassUnit.MG,
        "毫克": MassUnit.MG,
        "g": MassUnit.G,
        "gm": MassUnit.G,
        "gram": MassUnit.G,
        "grams": MassUnit.G,
        "克": MassUnit.G,
    }
)


class UnitFamily(Enum):
    """Which units a dose entry accepts (MMF: g or mg; tacrolimus: mg)."""

    G_OR_MG = "g_or_mg"
    MG = "mg"

    @property
    def units(self) -> tuple[MassUnit, ...]:
        """Accepted units; a bare number is read in the first when there is only one."""
        return (MassUnit.G, MassUnit.MG) if self is UnitFamily.G_OR_MG else (MassUnit.MG,)

    @property
    def example(self) -> str:
        """An example entry shown in refusals."""
        return "500mg, 0.5g" if self is UnitFamily.G_OR_MG else "1mg"


@dataclass(frozen=True, slots=True)
class Dose:
    """An amount with its unit, as entered. Refuses an amount of 0 or less."""

    amount: Decimal
    unit: MassUnit

    def __post_init__(self) -> None:
        if not self.amount.is_finite() or self.amount <= 0:
            raise RuleError(DOSE_NOT_POSITIVE, text=f"{self.amount}{self.unit.value}")

    @property
    def mg(self) -> Decimal:
        """The amount in mg (exact)."""
        return self.amount * _MG_PER_UNIT[self.unit]


_DOSE_PATTERN = re.compile(r"([+-]?)(\d+(?:\.\d+)?|\.\d+)\s*(.*)")


def parse_dose(text: str, expected_unit_family: UnitFamily) -> Dose:
    """Read a dose such as ``"500mg"``, ``"0.5 g"``, ``"1克"`` into an exact :class:`Dose`.

    Units accepted are those of ``expected_unit_family`` (MMF: g or mg, the
    registry writing "1.0-1.5g per day"; tacrolimus: mg, "2-4mg per day"). A bare
    number is read in the family's only unit (tacrolimus: mg) and refused where
    g and mg are both possible. Refuses unreadable text, other units, and amounts
    of 0 or less. Full-width digits and units are accepted. Source: docs/clinical-facts.md §2.
    """
    folded = unicodedata.normalize("NFKC", text).strip()
    match = _DOSE_PATTERN.fullmatch(folded)
    if match is None:
        raise RuleError(DOSE_UNREADABLE, text=text, example=expected_unit_family.example)
    sign, number, unit_text = match.groups()
    amount = Decimal(number)
    unit_word = unit_text.strip().casefold()
    if not unit_word:
        if len(expected_unit_family.units) != 1:
            raise RuleError(DOSE_UNIT_MISSING, text=text, example=expected_unit_family.example)
        unit = expected_unit_family.units[0]
    else:
        found = _UNIT_WORDS.get(unit_word)
        if found is None or found not in expected_unit_family.units:
            raise RuleError(
                DOSE_UNIT_NOT_ACCEPTED,
                unit=unit_text.strip(),
                accepted=", ".join(unit.value for unit in expected_unit_family.units),
            )
        unit = found
    if sign == "-" or amount <= 0:
        raise RuleError(DOSE_NOT_POSITIVE, text=text)
    return Dose(amount, unit)


@dataclass(frozen=True, slots=True)
class DailyRange:
    """An inclusive daily range, written in the unit the registry uses."""

    low: Decimal
    high: Decimal
    unit: MassUnit

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")


# The units a dose of each oral drug may be entered in.
ORAL_UNIT_FAMILIES: Mapping[Drug, UnitFamily] = MappingProxyType(
    {Drug.MMF: UnitFamily.G_OR_MG, Drug.TACROLIMUS: UnitFamily.MG}
)

# Message ids for a daily total outside the range (a whole sentence per drug).
OUTSIDE_MESSAGES: Mapping[Drug, str] = MappingProxyType(
    {Drug.MMF: MMF_OUTSIDE, Drug.TACROLIMUS: TACROLIMUS_OUTSIDE}
)
# Message ids for a daily total above the plausible limit (refused whatever the policy).
IMPLAUSIBLE_MESSAGES: Mapping[Drug, str] = MappingProxyType(
    {Drug.MMF: MMF_IMPLAUSIBLE, Drug.TACROLIMUS: TACROLIMUS_IMPLAUSIBLE}
)


def unit_family(drug: Drug) -> UnitFamily:
    """Units a dose of the oral ``drug`` may be entered in."""
    return ORAL_UNIT_FAMILIES[drug]


def outside_message(drug: Drug) -> str:
    """Message id for a daily total of the oral ``drug`` outside its range."""
    return OUTSIDE_MESSAGES[drug]


DEFAULT_DAILY_RANGES: Mapping[Drug, DailyRange] = MappingProxyType(
    {
        # Registry: "Mycophenolate Mofetil, oral, 1.0-1.5g per day".
        Drug.MMF: DailyRange(Decimal("1.0"), Decimal("1.5"), MassUnit.G),
        # Registry: "Tacrolimus, oral, 2-4mg per day".
        Drug.TACROLIMUS: DailyRange(Decimal(2), Decimal(4), MassUnit.MG),
    }
)


@dataclass(frozen=True, slots=True)
class DailyCheck:
    """A day's total of one drug against its inclusive range.

    ``total``, ``low`` and ``high`` are in ``unit`` (MMF g, tacrolimus mg).
    ``flagged`` is true outside the range; ``warning`` is then the message id to
    show, filled with :attr:`warning_params`.
    """

    drug: Drug
    doses: tuple[Dose, ...]
    total: Decimal
    unit: MassUnit
    low: Decimal
    high: Decimal
    status: RangeStatus
    flagged: bool
    warning: str | None

    @property
    def warning_params(self) -> dict[str, str]:
        """Values for the placeholders of :attr:`warning`."""
        return {
            "total": _plain(self.total),
            "low": _plain(self.low),
            "high": _plain(self.high),
            "unit": self.unit.value,
        }


def check_daily_total(
    drug: Drug,
    doses: Sequence[Dose | str],
    *,
    policy: RangePolicy = RangePolicy.FLAG,
    daily_range: DailyRange | None = None,
    refused_above: Decimal | None = None,
) -> DailyCheck:
    """Sum one day's doses of ``drug`` and check the total against its range.

    Doses may be :class:`Dose` values or text read by :func:`parse_dose` in the
    drug's units. The range is inclusive (registry: MMF "1.0-1.5g per day",
    tacrolimus "2-4mg per day"; ``daily_range`` overrides it). Outside the range,
    policy ``FLAG`` (default) returns a flagged check and ``REFUSE`` raises
    :class:`RuleError` naming the drug, the total and the range
    (docs/clinical-facts.md §2: "doses outside 1.0-1.5 g/day refused or flagged").
    A total above ``refused_above`` (in the range's unit; the protocol file's
    plausibility limit, e.g. MMF 3 g, tacrolimus 10 mg) is refused whatever
    the policy: far beyond any dose of the protocol, it is a typo (a unit or a
    decimal point), as :func:`mp_cumulative` refuses an implausible pulse.
    """
    limits = daily_range if daily_range is not None else DEFAULT_DAILY_RANGES[drug]
    family = unit_family(drug)
    parsed: list[Dose] = []
    for dose in doses:
        if isinstance(dose, str):
            dose = parse_dose(dose, family)
        elif dose.unit not in family.units:
            raise RuleError(
                DOSE_UNIT_NOT_ACCEPTED,
                unit=dose.unit.value,
                accepted=", ".join(unit.value for unit in family.units),
            )
        parsed.append(dose)
    total_mg = sum((dose.mg for dose in parsed), Decimal(0))
    total = total_mg / _MG_PER_UNIT[limits.unit]
    if refused_above is not None and total > refused_above:
        raise RuleError(
            IMPLAUSIBLE_MESSAGES[drug], total=_plain(total), limit=_plain(refused_above)
        )
    status = _status(total, limits.low, limits.high)
    check = DailyCheck(
        drug=drug,
        doses=tuple(parsed),
        total=total,
        unit=limits.unit,
        low=limits.low,
        high=limits.high,
        status=status,
        flagged=status is not RangeStatus.WITHIN,
        warning=None if status is RangeStatus.WITHIN else outside_message(drug),
    )
    if check.flagged and policy is RangePolicy.REFUSE:
        raise RuleError(outside_message(drug), **check.warning_params)
    return check
