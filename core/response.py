"""Renal response at a renal assessment: complete, partial or no response.

Source: the registry record (docs/registry-record.txt, the authority), outcome measures:

- "Complete response will be defined as below: 1. urinary protein less than
  0.4g/24h 2. no active urinary sediment 3. serum albumin more than 3.5g/dl
  4. and normal SCr."
- "Partial response will be defined as a decrease of more than 50% of the
  baseline value of urinary protein and less than 3.5g/24h of urinary protein,
  a decrease of more than 50% of the baseline value of urinary sediment red
  blood cell count, and a normal or an increase of less than 30% of serum
  creatinine"
- "Proportion of patients with a cumulative complete response at week 24".

and docs/clinical-facts.md §3 (how those words are applied): CR is evaluated first,
then PR; every clause's result is kept; inequalities are strict exactly as
written (0.40 g is not < 0.4; 3.5 g/dL is not > 3.5; a fall of exactly 50% is
not "more than 50%"; a rise of exactly 30% is not "less than 30%", but the
creatinine clause still holds when the value is normal); exact decimal
arithmetic in the unit the lab reported, converting only where two values
differ in unit; active sediment is RBC > 100/µL or > 5/hpf, or WBC > 5/hpf, or
RBC/WBC cellular casts, and white cells do not count when a urinary tract
infection is recorded.

How comparisons stay exact: "more than 50% fall" is tested as
``week < baseline x (1 - 0.5)`` and "rise of less than 30%" as
``week < baseline x (1 + 0.3)``: products of decimals, never quotients. When
two values differ in unit both go to µmol/L, g/L or g/24h, which only
multiplies (by 88.4, 10 or 0.001). The percentage changes shown to people are
rounded to 0.1 for display and never decide anything.

Choices (the registry and the facts are silent; each is an option in
:class:`ResponseOptions` so the protocol file can change it):

- "Normal SCr" is at or below the upper limit printed with the result
  (:attr:`RenalPanel.creatinine_uln`); without one, the protocol default for
  the patient's sex: the Chinese national adult reference interval WS/T
  404.5-2015 (enzymatic method, 20-59 years): men 57-97 µmol/L, women
  41-73 µmol/L, so 97 µmol/L for men and 73 µmol/L for women.
- PR's RBC clause when the baseline RBC count is not active: "literal" by
  default (a fall of more than 50% is still required); "met_if_week_inactive"
  counts the clause as met when the week's count is not active either. Both
  readings are kept on the clause so people see the other one.
- "Cumulative" (endpoint): CR at any renal assessment after baseline up to and
  including the endpoint week (24); for PR/NR, the best class reached
  (CR > PR > NR) at any such assessment. Week 0 and earlier (baseline,
  screening) never count.
- A baseline of 0 (protein or RBC) cannot fall by more than 50%: the fall
  clause is not met.
- A clause is "not evaluable" (``met is None``) when a value it needs is
  missing, or when RBC counts at baseline and the week were made by different
  methods (/µL against /hpf: never converted). The class is NE only when the
  missing data could change it.
- The baseline when week 0 has no results: the screening panel nearest to
  week 0 (the latest negative week), by default; the protocol option
  ``baseline_when_week0_missing = "none"`` leaves such a patient without a
  baseline. Screening weeks are never assessed themselves.
- White-cell casts count toward active sediment even when a urinary tract
  infection is recorded (casts form in the kidney; the infection explains
  white cells in the urine, not casts), by default; the protocol option
  ``wbc_casts_with_uti = "ignore"`` leaves them out like the white cells.
- A 24-hour urine protein reported below the laboratory's detection limit
  (``<0.1 g/24h``, the lab file only) is a value below that limit: a clause
  is met when the limit itself meets it, else not evaluable.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Literal

from core.messages import N_, RuleError
from core.units import ANALYTE_LABELS, Analyte, CastKind, Quantity, Unit, align
from core.vocabulary import Sex

__all__ = [
    "ACTIVITY_LABELS",
    "STATUS_LABELS",
    "Assessment",
    "Clause",
    "ClauseKey",
    "Cumulative",
    "EndpointResult",
    "MissingWeek0",
    "RbcBaselineInactive",
    "RenalPanel",
    "ResponseClass",
    "ResponseOptions",
    "SedimentComponent",
    "SedimentFinding",
    "SedimentResult",
    "Sex",
    "WbcCastsWithUti",
    "active_sediment",
    "assess_weeks",
    "baseline_week",
    "classify",
    "week24_and_cumulative",
]


class ResponseClass(StrEnum):
    """Complete, partial, no response, or not evaluable (data missing)."""

    CR = "CR"
    PR = "PR"
    NR = "NR"
    NE = "NE"


class RbcBaselineInactive(StrEnum):
    """How PR's RBC clause reads when the baseline RBC count is not active."""

    LITERAL = "literal"
    MET_IF_WEEK_INACTIVE = "met_if_week_inactive"


class Cumulative(StrEnum):
    """How the cumulative response by the endpoint week is counted."""

    ANY_ASSESSMENT = "any_assessment"


class MissingWeek0(StrEnum):
    """What stands for the baseline when week 0 has no results."""

    SCREENING = "screening"
    NONE = "none"


class WbcCastsWithUti(StrEnum):
    """Whether white-cell casts count toward active sediment when a UTI is recorded."""

    COUNT = "count"
    IGNORE = "ignore"


class ClauseKey(StrEnum):
    """Which clause of the CR or PR definition a :class:`Clause` is."""

    CR_PROTEIN = "cr_protein"
    CR_SEDIMENT = "cr_sediment"
    CR_ALBUMIN = "cr_albumin"
    CR_CREATININE = "cr_creatinine"
    PR_PROTEIN_FALL = "pr_protein_fall"
    PR_PROTEIN_LEVEL = "pr_protein_level"
    PR_RBC_FALL = "pr_rbc_fall"
    PR_CREATININE = "pr_creatinine"
    # The two halves of PR's "normal or an increase of less than 30%".
    CREATININE_NORMAL = "creatinine_normal"
    CREATININE_RISE = "creatinine_rise"


class SedimentComponent(StrEnum):
    """A part of the urinary sediment that can make it active."""

    RBC = "rbc"
    WBC = "wbc"
    CASTS = "casts"


# {status} placeholder values. They are msgids: the bot translates them before
# filling the template, like the item labels.
STATUS_LABELS: Final[Mapping[bool | None, str]] = MappingProxyType(
    {True: N_("met"), False: N_("not met"), None: N_("not evaluable")}
)
ACTIVITY_LABELS: Final[Mapping[bool | None, str]] = MappingProxyType(
    {True: N_("active"), False: N_("not active"), None: N_("not evaluable")}
)

_CASTS_LABEL: Final = N_("Cellular casts")


def _q(value: str, unit: Unit) -> Quantity:
    return Quantity(Decimal(value), unit)


# Registry numbers: "less than 0.4g/24h", "more than 3.5g/dl", "less than 3.5g/24h".
_CR_PROTEIN_BELOW: Final = _q("0.4", Unit.G_PER_24H)
_CR_ALBUMIN_ABOVE: Final = _q("3.5", Unit.G_PER_DL)
_PR_PROTEIN_BELOW: Final = _q("3.5", Unit.G_PER_24H)
# Choice: WS/T 404.5-2015 adult upper reference limits (see the module docstring).
_CREATININE_ULN_F: Final = _q("73", Unit.UMOL_PER_L)
_CREATININE_ULN_M: Final = _q("97", Unit.UMOL_PER_L)


@dataclass(frozen=True, slots=True)
class ResponseOptions:
    """The protocol's response thresholds and readings (docs/clinical-facts.md §3).

    Defaults are the registry's numbers; the creatinine upper limits, the RBC
    reading, the cumulative rule, the screening baseline and white-cell casts
    with a UTI are choices (see the module docstring).
    Fractions are of the baseline value: 0.5 means 50%.
    """

    cr_protein_below: Quantity = _CR_PROTEIN_BELOW
    cr_albumin_above: Quantity = _CR_ALBUMIN_ABOVE
    pr_protein_fall_more_than: Decimal = Decimal("0.5")
    pr_protein_below: Quantity = _PR_PROTEIN_BELOW
    pr_rbc_fall_more_than: Decimal = Decimal("0.5")
    pr_creatinine_rise_less_than: Decimal = Decimal("0.3")
    # Active sediment: a count above the threshold in its own unit.
    sediment_rbc_above: tuple[Quantity, ...] = (
        _q("100", Unit.PER_UL),
        _q("5", Unit.PER_HPF),
    )
    sediment_wbc_above: tuple[Quantity, ...] = (_q("5", Unit.PER_HPF),)
    creatinine_uln_female: Quantity = _CREATININE_ULN_F
    creatinine_uln_male: Quantity = _CREATININE_ULN_M
    pr_rbc_when_baseline_inactive: RbcBaselineInactive = RbcBaselineInactive.LITERAL
    cumulative: Cumulative = Cumulative.ANY_ASSESSMENT
    endpoint_week: int = 24
    baseline_when_week0_missing: MissingWeek0 = MissingWeek0.SCREENING
    wbc_casts_with_uti: WbcCastsWithUti = WbcCastsWithUti.COUNT

    def __post_init__(self) -> None:
        def units(q: Quantity, allowed: set[Unit], name: str) -> None:
            if q.unit not in allowed:
                raise ValueError(f"{name} must be in {sorted(u.value for u in allowed)}")

        protein = {Unit.G_PER_24H, Unit.MG_PER_24H}
        units(self.cr_protein_below, protein, "cr_protein_below")
        units(self.pr_protein_below, protein, "pr_protein_below")
        units(self.cr_albumin_above, {Unit.G_PER_L, Unit.G_PER_DL}, "cr_albumin_above")
        for name in ("creatinine_uln_female", "creatinine_uln_male"):
            uln = getattr(self, name)
            units(uln, {Unit.UMOL_PER_L, Unit.MG_PER_DL}, name)
            if uln.value <= 0:
                raise ValueError(f"{name} must be positive")
        for name in ("pr_protein_fall_more_than", "pr_rbc_fall_more_than"):
            if not Decimal(0) < getattr(self, name) < Decimal(1):
                raise ValueError(f"{name} must be a fraction between 0 and 1")
        if not self.pr_creatinine_rise_less_than > 0:
            raise ValueError("pr_creatinine_rise_less_than must be positive")
        for name in ("sediment_rbc_above", "sediment_wbc_above"):
            thresholds: tuple[Quantity, ...] = getattr(self, name)
            for t in thresholds:
                units(t, {Unit.PER_UL, Unit.PER_HPF}, name)
            if len({t.unit for t in thresholds}) != len(thresholds):
                raise ValueError(f"{name} has two thresholds in one unit")
        if self.endpoint_week <= 0:
            raise ValueError("endpoint_week must be after baseline")

    def default_creatinine_uln(self, sex: Sex) -> Quantity:
        """The protocol's creatinine upper limit for ``sex`` (a choice)."""
        return self.creatinine_uln_female if sex is Sex.F else self.creatinine_uln_male


@dataclass(frozen=True, slots=True)
class RenalPanel:
    """The renal results of one assessment, each as entered (None = missing).

    ``creatinine_uln`` is the upper limit printed with this creatinine result,
    if any; ``uti`` records a urinary tract infection at the time of the urine
    sample (white cells then don't count toward active sediment);
    ``protein_below_limit`` says the lab reported the protein only as below
    ``protein``, its detection limit (``<0.1 g/24h``).
    """

    protein: Quantity | None = None
    rbc: Quantity | None = None
    wbc: Quantity | None = None
    casts: frozenset[CastKind] | None = None
    albumin: Quantity | None = None
    creatinine: Quantity | None = None
    creatinine_uln: Quantity | None = None
    uti: bool = False
    protein_below_limit: bool = False

    def __post_init__(self) -> None:
        if self.protein_below_limit and self.protein is None:
            raise ValueError("RenalPanel.protein_below_limit needs the limit in protein")
        allowed = {
            "protein": {Unit.G_PER_24H, Unit.MG_PER_24H},
            "rbc": {Unit.PER_HPF, Unit.PER_UL},
            "wbc": {Unit.PER_HPF, Unit.PER_UL},
            "albumin": {Unit.G_PER_L, Unit.G_PER_DL},
            "creatinine": {Unit.UMOL_PER_L, Unit.MG_PER_DL},
            "creatinine_uln": {Unit.UMOL_PER_L, Unit.MG_PER_DL},
        }
        for name, units in allowed.items():
            q: Quantity | None = getattr(self, name)
            if q is not None and q.unit not in units:
                raise ValueError(f"RenalPanel.{name} cannot be in {q.unit.symbol}")


def _english(template: str, params: Mapping[str, Decimal | str]) -> str:
    return template.format(
        **{k: format(v, "f") if isinstance(v, Decimal) else v for k, v in params.items()}
    )


@dataclass(frozen=True, slots=True)
class SedimentFinding:
    """Whether one sediment component is active, and the numbers behind it.

    ``template`` is an N_-marked English sentence; ``params`` fills it (the
    ``status`` and ``item`` values are msgids to translate too). ``ignored``
    is true for white cells when a urinary tract infection is recorded.
    """

    component: SedimentComponent
    active: bool | None
    template: str
    params: Mapping[str, Decimal | str]
    value: Quantity | None = None
    threshold: Quantity | None = None
    casts: frozenset[CastKind] | None = None
    ignored: bool = False

    def english(self) -> str:
        """The finding as an English sentence (logs, tests)."""
        return _english(self.template, self.params)


@dataclass(frozen=True, slots=True)
class SedimentResult:
    """Active urinary sediment: overall (None = can't tell) and by component."""

    active: bool | None
    rbc: SedimentFinding
    wbc: SedimentFinding
    casts: SedimentFinding
    uti: bool

    @property
    def findings(self) -> tuple[SedimentFinding, SedimentFinding, SedimentFinding]:
        """The three findings, RBC, WBC, casts."""
        return (self.rbc, self.wbc, self.casts)

    @property
    def active_components(self) -> tuple[SedimentComponent, ...]:
        """The components found active."""
        return tuple(f.component for f in self.findings if f.active)


@dataclass(frozen=True, slots=True)
class Clause:
    """One clause of the CR or PR definition, its result and its numbers.

    ``met`` is None when the clause can't be evaluated. ``template`` is an
    N_-marked English sentence with named placeholders and ``params`` fills
    it: quantities as ``Decimal`` value plus unit symbol, ``change_percent``
    rounded for display, and ``status`` / ``item`` as msgids to translate.
    ``value``, ``baseline`` and ``threshold`` are the quantities actually
    compared (in one unit); ``change`` is (week - baseline) / baseline for
    display. ``parts`` holds sub-clauses (PR creatinine: normal, rise),
    ``sediment`` the sediment detail for ``cr_sediment``, and for the RBC
    clause ``reading`` says which option produced it and ``alternative`` is the
    other reading when the baseline count is not active.
    """

    key: ClauseKey
    met: bool | None
    template: str
    params: Mapping[str, Decimal | str]
    value: Quantity | None = None
    baseline: Quantity | None = None
    threshold: Quantity | None = None
    change: Decimal | None = None
    parts: tuple[Clause, ...] = ()
    sediment: SedimentResult | None = None
    reading: RbcBaselineInactive | None = None
    alternative: Clause | None = None

    def english(self) -> str:
        """The clause as an English sentence (logs, tests)."""
        return _english(self.template, self.params)


@dataclass(frozen=True, slots=True)
class Assessment:
    """The class at one renal assessment with every clause behind it."""

    cls: ResponseClass
    cr_met: bool | None
    pr_met: bool | None
    cr_clauses: tuple[Clause, ...]
    pr_clauses: tuple[Clause, ...]

    @property
    def clauses(self) -> tuple[Clause, ...]:
        """CR clauses then PR clauses."""
        return self.cr_clauses + self.pr_clauses

    @property
    def missing(self) -> tuple[ClauseKey, ...]:
        """Clauses that could not be evaluated."""
        return tuple(c.key for c in self.clauses if c.met is None)

    def clause(self, key: ClauseKey) -> Clause:
        """The clause with ``key``."""
        for c in self.clauses:
            if c.key is key:
                return c
        raise KeyError(key)


@dataclass(frozen=True, slots=True)
class EndpointResult:
    """Status at the endpoint week and the cumulative response up to it.

    ``week24`` is None when there is no assessment at the endpoint week;
    ``cumulative`` is None when there is no assessment after baseline up to it.
    ``cumulative_cr`` answers the primary endpoint ("cumulative complete
    response") directly; ``cumulative_week`` is the first week the cumulative
    class was reached.
    """

    endpoint_week: int
    week24: ResponseClass | None
    cumulative: ResponseClass | None
    cumulative_cr: bool | None
    cumulative_week: int | None
    weeks: tuple[int, ...] = field(default=())


# --- three-valued logic (None = unknown) -----------------------------------


def _all(values: Iterable[bool | None]) -> bool | None:
    vals = list(values)
    if False in vals:
        return False
    return None if None in vals else True


def _any(values: Iterable[bool | None]) -> bool | None:
    vals = list(values)
    if True in vals:
        return True
    return None if None in vals else False


# --- building clauses -------------------------------------------------------


def _qp(name: str, unit_name: str, q: Quantity) -> dict[str, Decimal | str]:
    return {name: q.value, unit_name: q.unit.suffix}


def _percent_change(baseline: Decimal, value: Decimal) -> Decimal:
    # Display only: the decision never uses this quotient.
    return (value - baseline) / baseline


def _pct(fraction: Decimal) -> Decimal:
    return (fraction * 100).quantize(Decimal("0.1"))


def _option_pct(fraction: Decimal) -> Decimal:
    # A protocol fraction as a percentage without trailing zeros: 0.5 -> 50.
    return (fraction * 100).normalize()


def _missing(key: ClauseKey, item: str, *, baseline: bool) -> Clause:
    template = (
        N_("{item}: no baseline result: {status}")
        if baseline
        else N_("{item}: no result at this assessment: {status}")
    )
    return Clause(key, None, template, {"item": item, "status": STATUS_LABELS[None]})


def _compare_clause(
    key: ClauseKey,
    template: str,
    item: str,
    value: Quantity | None,
    limit: Quantity,
    *,
    op: Literal["<", "<=", ">"],
) -> Clause:
    if value is None:
        return _missing(key, item, baseline=False)
    v, t = align(value, limit)
    if op == "<":
        met = v.value < t.value
    elif op == "<=":
        met = v.value <= t.value
    else:
        met = v.value > t.value
    params = {
        **_qp("value", "unit", v),
        **_qp("threshold", "threshold_unit", t),
        "status": STATUS_LABELS[met],
    }
    return Clause(key, met, template, params, value=v, threshold=t)


def _creatinine_normal(
    key: ClauseKey, week: RenalPanel, sex: Sex, options: ResponseOptions
) -> Clause:
    if week.creatinine_uln is not None:
        uln = week.creatinine_uln
        template = N_(
            "Serum creatinine {value}{unit} ≤ {threshold}{threshold_unit}, the upper limit "
            "reported with the result: {status}"
        )
    elif sex is Sex.F:
        uln = options.default_creatinine_uln(sex)
        template = N_(
            "Serum creatinine {value}{unit} ≤ {threshold}{threshold_unit}, the protocol's "
            "upper limit for women: {status}"
        )
    else:
        uln = options.default_creatinine_uln(sex)
        template = N_(
            "Serum creatinine {value}{unit} ≤ {threshold}{threshold_unit}, the protocol's "
            "upper limit for men: {status}"
        )
    return _compare_clause(
        key,
        template,
        ANALYTE_LABELS[Analyte.SERUM_CREATININE],
        week.creatinine,
        uln,
        op="<=",
    )


def _fall_clause(
    key: ClauseKey,
    analyte: Analyte,
    base: Quantity | None,
    week: Quantity | None,
    more_than: Decimal,
    *,
    base_below: bool = False,
    week_below: bool = False,
) -> Clause:
    """Fell by more than ``more_than`` of baseline: week < baseline x (1 - more_than).

    ``base_below`` / ``week_below``: that value was reported only as below a
    detection limit (its ``value``).
    """
    item = ANALYTE_LABELS[analyte]
    if week is None:
        return _missing(key, item, baseline=False)
    if base is None:
        return _missing(key, item, baseline=True)
    if base_below:
        template = N_(
            "{item} was below the detection limit ({baseline}{baseline_unit}) at baseline, so "
            "it cannot be measured whether it fell by more than {fall_percent}%: {status}"
        )
        params_below: dict[str, Decimal | str] = {
            "item": item,
            **_qp("baseline", "baseline_unit", base),
            "fall_percent": _option_pct(more_than),
            "status": STATUS_LABELS[None],
        }
        return Clause(key, None, template, params_below, value=week, baseline=base)
    try:
        b, w = align(base, week)
    except RuleError:
        # /µL against /hpf: two methods, never converted (docs/clinical-facts.md §3).
        params: dict[str, Decimal | str] = {
            "item": item,
            **_qp("baseline", "baseline_unit", base),
            **_qp("value", "unit", week),
            "status": STATUS_LABELS[None],
        }
        template = N_(
            "{item} at baseline ({baseline}{baseline_unit}) and now ({value}{unit}) were "
            "counted by different methods and cannot be compared: {status}"
        )
        return Clause(key, None, template, params, value=week, baseline=base)
    threshold = Quantity(b.value * (1 - more_than), b.unit)
    met = w.value < threshold.value
    params = {
        "item": item,
        **_qp("baseline", "baseline_unit", b),
        **_qp("value", "unit", w),
        **_qp("threshold", "threshold_unit", threshold),
        "fall_percent": _option_pct(more_than),
        "status": STATUS_LABELS[met],
    }
    if b.value == 0:
        template = N_(
            "{item} was {baseline}{baseline_unit} at baseline, so it cannot fall by more than "
            "{fall_percent}%: {status}"
        )
        return Clause(key, met, template, params, value=w, baseline=b, threshold=threshold)
    if week_below:
        # The true value is below the limit: below the threshold if the limit is at or under it.
        below_met = True if w.value <= threshold.value else None
        params["status"] = STATUS_LABELS[below_met]
        template = N_(
            "{item} {baseline}{baseline_unit} at baseline, <{value}{unit} now (below the "
            "detection limit); a fall of more than {fall_percent}% means below "
            "{threshold}{threshold_unit}: {status}"
        )
        return Clause(key, below_met, template, params, value=w, baseline=b, threshold=threshold)
    change = _percent_change(b.value, w.value)
    params["change_percent"] = _pct(change)
    template = N_(
        "{item} {baseline}{baseline_unit} at baseline, {value}{unit} now ({change_percent}%); "
        "a fall of more than {fall_percent}% means below {threshold}{threshold_unit}: {status}"
    )
    return Clause(key, met, template, params, w, b, threshold, change)


def _protein_clause(key: ClauseKey, week: RenalPanel, limit: Quantity) -> Clause:
    """Urine protein below ``limit``; a result reported below a detection limit counts as
    below ``limit`` when the detection limit is at or under it, else it cannot tell."""
    item = ANALYTE_LABELS[Analyte.URINE_PROTEIN_24H]
    if not week.protein_below_limit or week.protein is None:
        return _compare_clause(
            key,
            N_("Urine protein {value}{unit} < {threshold}{threshold_unit}: {status}"),
            item,
            week.protein,
            limit,
            op="<",
        )
    v, t = align(week.protein, limit)
    met = True if v.value <= t.value else None
    params = {
        **_qp("value", "unit", v),
        **_qp("threshold", "threshold_unit", t),
        "status": STATUS_LABELS[met],
    }
    template = N_(
        "Urine protein <{value}{unit} (below the detection limit) < {threshold}{threshold_unit}: "
        "{status}"
    )
    return Clause(key, met, template, params, value=v, threshold=t)


def _rise_clause(base: Quantity | None, week: Quantity | None, less_than: Decimal) -> Clause:
    """Rose by less than ``less_than`` of baseline: week < baseline x (1 + less_than)."""
    key, item = ClauseKey.CREATININE_RISE, ANALYTE_LABELS[Analyte.SERUM_CREATININE]
    if week is None:
        return _missing(key, item, baseline=False)
    if base is None:
        return _missing(key, item, baseline=True)
    b, w = align(base, week)
    threshold = Quantity(b.value * (1 + less_than), b.unit)
    met = w.value < threshold.value
    change = _percent_change(b.value, w.value)
    params = {
        **_qp("baseline", "baseline_unit", b),
        **_qp("value", "unit", w),
        **_qp("threshold", "threshold_unit", threshold),
        "change_percent": _pct(change),
        "rise_percent": _option_pct(less_than),
        "status": STATUS_LABELS[met],
    }
    template = N_(
        "Serum creatinine {baseline}{baseline_unit} at baseline, {value}{unit} now "
        "({change_percent}%); a rise of less than {rise_percent}% means below "
        "{threshold}{threshold_unit}: {status}"
    )
    return Clause(key, met, template, params, w, b, threshold, change)


def _count_active(q: Quantity | None, thresholds: tuple[Quantity, ...]) -> bool | None:
    if q is None:
        return None
    for t in thresholds:
        if t.unit is q.unit:
            return q.value > t.value
    return None


def _count_finding(
    component: SedimentComponent, item: str, q: Quantity | None, thresholds: tuple[Quantity, ...]
) -> SedimentFinding:
    if q is None:
        template = N_("{item}: no result at this assessment: {status}")
        return SedimentFinding(
            component, None, template, {"item": item, "status": ACTIVITY_LABELS[None]}
        )
    threshold = next((t for t in thresholds if t.unit is q.unit), None)
    if threshold is None:
        template = N_(
            "{item} {value}{unit}: the protocol has no active-sediment threshold in "
            "{unit_symbol}: {status}"
        )
        params = {
            "item": item,
            **_qp("value", "unit", q),
            "unit_symbol": q.unit.symbol,
            "status": ACTIVITY_LABELS[None],
        }
        return SedimentFinding(component, None, template, params, value=q)
    active = q.value > threshold.value
    template = N_("{item} {value}{unit} > {threshold}{threshold_unit}: {status}")
    params = {
        "item": item,
        **_qp("value", "unit", q),
        **_qp("threshold", "threshold_unit", threshold),
        "status": ACTIVITY_LABELS[active],
    }
    return SedimentFinding(component, active, template, params, value=q, threshold=threshold)


def _casts_finding(
    casts: frozenset[CastKind] | None, uti: bool, with_uti: WbcCastsWithUti
) -> SedimentFinding:
    comp = SedimentComponent.CASTS
    if casts is None:
        template = N_("{item}: no result at this assessment: {status}")
        return SedimentFinding(
            comp, None, template, {"item": _CASTS_LABEL, "status": ACTIVITY_LABELS[None]}
        )
    rbc, wbc = CastKind.RBC in casts, CastKind.WBC in casts
    ignored = wbc and uti and with_uti is WbcCastsWithUti.IGNORE
    active = rbc or (wbc and not ignored)
    if rbc and ignored:
        template = N_(
            "Red-cell casts, and white-cell casts not counted because a urinary tract "
            "infection is recorded: {status}"
        )
    elif ignored:
        template = N_(
            "White-cell casts, not counted because a urinary tract infection is recorded: {status}"
        )
    elif rbc and wbc and uti:
        template = N_(
            "Red-cell and white-cell casts; white-cell casts count even with the urinary tract "
            "infection recorded: {status}"
        )
    elif wbc and uti:
        template = N_(
            "White-cell casts, which count even with the urinary tract infection recorded: {status}"
        )
    elif rbc and wbc:
        template = N_("Red-cell and white-cell casts: {status}")
    elif rbc:
        template = N_("Red-cell casts: {status}")
    elif wbc:
        template = N_("White-cell casts: {status}")
    else:
        template = N_("No cellular casts: {status}")
    params: dict[str, Decimal | str] = {"status": ACTIVITY_LABELS[active]}
    return SedimentFinding(comp, active, template, params, casts=casts, ignored=ignored)


def active_sediment(panel: RenalPanel, options: ResponseOptions | None = None) -> SedimentResult:
    """Whether the urinary sediment is active, and which components make it so.

    Active if any of: RBC above the threshold for its unit (> 100/µL by
    analyser, > 5/hpf by microscopy), WBC > 5/hpf, or red- or white-cell
    casts. When ``panel.uti`` is true, white cells are ignored, and
    white-cell casts too only under the protocol option
    ``wbc_casts_with_uti = "ignore"`` (a choice: casts form in the kidney).
    ``active`` is None only when no component is active and one needed to
    decide is missing (or has no threshold in its unit: a WBC count per µL).

    Source: docs/clinical-facts.md §3 ("Active urinary sediment (registry inclusion
    text, and ACR 2012): RBC > 100/uL (analyser) or > 5/hpf (microscopy), or
    WBC > 5/hpf, or RBC/WBC cellular casts; white cells do not count when a
    urinary tract infection is recorded").
    """
    opts = options or ResponseOptions()
    rbc = _count_finding(
        SedimentComponent.RBC,
        ANALYTE_LABELS[Analyte.URINE_RBC],
        panel.rbc,
        opts.sediment_rbc_above,
    )
    if panel.uti:
        template = N_(
            "Urine WBC is not counted because a urinary tract infection is recorded: {status}"
        )
        params: dict[str, Decimal | str] = {"status": ACTIVITY_LABELS[False]}
        if panel.wbc is not None:
            params.update(_qp("value", "unit", panel.wbc))
        wbc = SedimentFinding(
            SedimentComponent.WBC, False, template, params, value=panel.wbc, ignored=True
        )
    else:
        wbc = _count_finding(
            SedimentComponent.WBC,
            ANALYTE_LABELS[Analyte.URINE_WBC],
            panel.wbc,
            opts.sediment_wbc_above,
        )
    casts = _casts_finding(panel.casts, panel.uti, opts.wbc_casts_with_uti)
    active = _any(f.active for f in (rbc, wbc, casts))
    return SedimentResult(active, rbc, wbc, casts, panel.uti)


def _sediment_clause(week: RenalPanel, options: ResponseOptions) -> Clause:
    sediment = active_sediment(week, options)
    met = None if sediment.active is None else not sediment.active
    template = N_("No active urinary sediment: {status}")
    return Clause(
        ClauseKey.CR_SEDIMENT,
        met,
        template,
        {"status": STATUS_LABELS[met]},
        sediment=sediment,
    )


def _restatus(clause: Clause, met: bool | None, reading: RbcBaselineInactive) -> Clause:
    params = {**clause.params, "status": STATUS_LABELS[met]}
    return dataclasses.replace(clause, met=met, params=params, reading=reading)


def _rbc_clause(baseline: RenalPanel, week: RenalPanel, options: ResponseOptions) -> Clause:
    literal = _fall_clause(
        ClauseKey.PR_RBC_FALL,
        Analyte.URINE_RBC,
        baseline.rbc,
        week.rbc,
        options.pr_rbc_fall_more_than,
    )
    literal = dataclasses.replace(literal, reading=RbcBaselineInactive.LITERAL)
    if baseline.rbc is None or _count_active(baseline.rbc, options.sediment_rbc_above) is not False:
        # Baseline active (or unknown): both readings are the literal one.
        chosen = options.pr_rbc_when_baseline_inactive
        return (
            literal
            if chosen is RbcBaselineInactive.LITERAL
            else _restatus(literal, literal.met, chosen)
        )

    # Baseline not active: "met_if_week_inactive" = literal OR week not active.
    week_active = _count_active(week.rbc, options.sediment_rbc_above)
    week_inactive = None if week_active is None else not week_active
    lenient_met = _any((literal.met, week_inactive))
    lenient_reading = RbcBaselineInactive.MET_IF_WEEK_INACTIVE
    if week_inactive and week.rbc is not None:
        params: dict[str, Decimal | str] = {
            **_qp("baseline", "baseline_unit", baseline.rbc),
            **_qp("value", "unit", week.rbc),
            "status": STATUS_LABELS[lenient_met],
        }
        template = N_(
            "Urine RBC was not active at baseline ({baseline}{baseline_unit}) and is not "
            "active now ({value}{unit}); under the protocol option this clause counts as "
            "met: {status}"
        )
        lenient = Clause(
            ClauseKey.PR_RBC_FALL,
            lenient_met,
            template,
            params,
            value=week.rbc,
            baseline=baseline.rbc,
            reading=lenient_reading,
        )
    else:
        lenient = _restatus(literal, lenient_met, lenient_reading)

    if options.pr_rbc_when_baseline_inactive is RbcBaselineInactive.LITERAL:
        return dataclasses.replace(literal, alternative=lenient)
    return dataclasses.replace(lenient, alternative=literal)


def classify(
    baseline: RenalPanel,
    week: RenalPanel,
    sex: Sex,
    options: ResponseOptions | None = None,
) -> Assessment:
    """Complete, partial or no response at one renal assessment.

    CR (all of): urine protein < 0.4 g/24h; no active urinary sediment (see
    :func:`active_sediment`); serum albumin > 3.5 g/dL; serum creatinine
    normal, i.e. at or below the result's own upper limit, else the
    protocol's default for ``sex``.
    PR (all of): urine protein fell by more than 50% (week < 0.5 x baseline);
    urine protein < 3.5 g/24h; urine RBC fell by more than 50% (RBC counts in
    /µL and /hpf are never compared); serum creatinine normal, or risen by less
    than 30% (week < 1.3 x baseline).
    CR is evaluated first; all eight clauses are evaluated and kept either
    way. The class is NE (not evaluable) only when missing data could change
    it: CR is decided if all CR clauses are met; otherwise, with a CR clause
    not met, PR or NR is decided once every PR clause is known (or one fails).

    Source: docs/registry-record.txt, outcome measures ("urinary protein less than
    0.4g/24h", "no active urinary sediment", "serum albumin more than
    3.5g/dl", "normal SCr"; "a decrease of more than 50% of the baseline value
    of urinary protein and less than 3.5g/24h of urinary protein, a decrease
    of more than 50% of the baseline value of urinary sediment red blood cell
    count, and a normal or an increase of less than 30% of serum creatinine");
    docs/clinical-facts.md §3 for strictness, exact arithmetic and units.
    """
    opts = options or ResponseOptions()
    cr_clauses = (
        _protein_clause(ClauseKey.CR_PROTEIN, week, opts.cr_protein_below),
        _sediment_clause(week, opts),
        _compare_clause(
            ClauseKey.CR_ALBUMIN,
            N_("Serum albumin {value}{unit} > {threshold}{threshold_unit}: {status}"),
            ANALYTE_LABELS[Analyte.SERUM_ALBUMIN],
            week.albumin,
            opts.cr_albumin_above,
            op=">",
        ),
        _creatinine_normal(ClauseKey.CR_CREATININE, week, sex, opts),
    )

    normal = _creatinine_normal(ClauseKey.CREATININE_NORMAL, week, sex, opts)
    rise = _rise_clause(baseline.creatinine, week.creatinine, opts.pr_creatinine_rise_less_than)
    creatinine_met = _any((normal.met, rise.met))
    pr_creatinine = Clause(
        ClauseKey.PR_CREATININE,
        creatinine_met,
        N_("Serum creatinine normal, or risen by less than {rise_percent}%: {status}"),
        {
            "rise_percent": _option_pct(opts.pr_creatinine_rise_less_than),
            "status": STATUS_LABELS[creatinine_met],
        },
        value=normal.value,
        parts=(normal, rise),
    )
    pr_clauses = (
        _fall_clause(
            ClauseKey.PR_PROTEIN_FALL,
            Analyte.URINE_PROTEIN_24H,
            baseline.protein,
            week.protein,
            opts.pr_protein_fall_more_than,
            base_below=baseline.protein_below_limit,
            week_below=week.protein_below_limit,
        ),
        _protein_clause(ClauseKey.PR_PROTEIN_LEVEL, week, opts.pr_protein_below),
        _rbc_clause(baseline, week, opts),
        pr_creatinine,
    )

    cr_met = _all(c.met for c in cr_clauses)
    pr_met = _all(c.met for c in pr_clauses)
    if cr_met:
        cls = ResponseClass.CR
    elif cr_met is None:
        cls = ResponseClass.NE  # the missing CR data could make it CR
    elif pr_met is None:
        cls = ResponseClass.NE
    else:
        cls = ResponseClass.PR if pr_met else ResponseClass.NR
    return Assessment(cls, cr_met, pr_met, cr_clauses, pr_clauses)


_RANK: Final[Mapping[ResponseClass, int]] = MappingProxyType(
    {ResponseClass.NR: 1, ResponseClass.PR: 2, ResponseClass.CR: 3}
)
_BY_RANK: Final[Mapping[int, ResponseClass]] = MappingProxyType({v: k for k, v in _RANK.items()})


def _best_possible(a: Assessment) -> int:
    if a.cls is not ResponseClass.NE:
        return _RANK[a.cls]
    return _RANK[ResponseClass.CR] if a.cr_met is None else _RANK[ResponseClass.PR]


def baseline_week(panels: Mapping[int, RenalPanel], options: ResponseOptions) -> int | None:
    """The week whose panel is the baseline: 0, else the screening week nearest to it.

    Rule: week 0 when it has results; without them, under the protocol option
    ``baseline_when_week0_missing = "screening"`` (the default) the latest
    negative (screening) week, the one nearest to day 0; under ``"none"``
    there is no baseline. Screening before day 0 is where a lupus nephritis
    trial's baseline proteinuria comes from (docs/clinical-facts.md §1: the
    inclusion criteria are measured before enrolment); using it when week 0
    is missing is a choice.
    """
    if 0 in panels:
        return 0
    screening = [week for week in panels if week < 0]
    if screening and options.baseline_when_week0_missing is MissingWeek0.SCREENING:
        return max(screening)
    return None


def assess_weeks(
    panels: Mapping[int, RenalPanel], sex: Sex, options: ResponseOptions
) -> dict[int, Assessment]:
    """Each week after baseline classified against the baseline, in week order.

    The one week-by-week walk of a patient's renal panels, whether they come
    from the store (core.patient_response) or from the lab file
    (core.endpoints). The baseline is :func:`baseline_week`'s (week 0, or a
    screening week when week 0 is missing); without one the reference is an
    empty panel, so the clauses that need a baseline are not evaluable.
    Screening weeks are never assessed.
    Source: docs/clinical-facts.md §3.
    """
    week0 = baseline_week(panels, options)
    reference = panels[week0] if week0 is not None else RenalPanel()
    return {
        week: classify(reference, panel, sex, options)
        for week, panel in sorted(panels.items())
        if week > 0
    }


def week24_and_cumulative(
    assessments: Mapping[int, Assessment], options: ResponseOptions | None = None
) -> EndpointResult:
    """The class at the endpoint week and the cumulative class up to it.

    ``assessments`` maps protocol week to the assessment there. The endpoint
    status is the class at ``options.endpoint_week`` (None if there is no
    assessment that week). Cumulative (``any_assessment``): CR if CR was
    reached at any assessment after baseline up to and including the endpoint
    week; otherwise the best class reached (PR over NR). It is NE when a
    not-evaluable assessment could have been better than the best class
    reached, and None when there is no assessment in that span.

    Source: docs/registry-record.txt, "Proportion of patients with a cumulative
    complete response at week 24"; docs/clinical-facts.md §3 (default: CR at any
    renal assessment up to and including week 24, status at week 24 reported
    beside it). Extending "cumulative" to PR/NR as the best class reached is a
    choice.
    """
    opts = options or ResponseOptions()
    end = opts.endpoint_week
    weeks = tuple(sorted(w for w in assessments if 0 < w <= end))
    endpoint = assessments.get(end)
    week24 = endpoint.cls if endpoint is not None else None
    if not weeks:
        return EndpointResult(end, week24, None, None, None, weeks)

    in_span = [assessments[w] for w in weeks]
    known = [_RANK[a.cls] for a in in_span if a.cls is not ResponseClass.NE]
    possible = [_best_possible(a) for a in in_span if a.cls is ResponseClass.NE]
    best_known = max(known, default=0)
    if max(possible, default=0) > best_known:
        cumulative = ResponseClass.NE
        cumulative_week = None
    else:
        cumulative = _BY_RANK[best_known]
        cumulative_week = next(w for w in weeks if assessments[w].cls is cumulative)

    if best_known == _RANK[ResponseClass.CR]:
        cumulative_cr: bool | None = True
    elif any(a.cls is ResponseClass.NE and a.cr_met is None for a in in_span):
        cumulative_cr = None
    else:
        cumulative_cr = False
    return EndpointResult(end, week24, cumulative, cumulative_cr, cumulative_week, weeks)
