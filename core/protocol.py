"""The protocol file: the trial's schedule and choices as validated data.

The bundled file is ``core/data/protocol.toml``; ``PROTOCOL_FILE`` points to
another. Each value there is either the registry record's (NCT05863936,
docs/registry-record.txt) or a site choice from ``docs/clinical-facts.md``;
the file marks which.

A wrong file fails on load with :class:`ProtocolError`, whose message names
each offending key, the value found and what was expected, so a coordinator
editing the file sees what to fix without reading code. The ``[wechat]``
table (templates of the reminders on WeChat) is read by
:mod:`core.reminder_templates`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationError,
    model_validator,
)

from core.dosing import BelimumabPlan, belimumab_plan
from core.reminder_templates import Wechat
from core.response import (
    Cumulative,
    MissingWeek0,
    RbcBaselineInactive,
    ResponseOptions,
    WbcCastsWithUti,
)
from core.units import Quantity, Unit

BUNDLED_PROTOCOL = Path(__file__).parent / "data" / "protocol.toml"

Week = Annotated[int, Field(ge=0, le=104)]
Days = Annotated[int, Field(ge=0, le=28)]
PositiveDecimal = Annotated[Decimal, Field(gt=0)]


class _Section(BaseModel):
    # A misspelt key must fail loudly rather than silently fall back to a default.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Trial(_Section):
    title: str
    registry_id: str
    enrollment_target: PositiveInt
    induction_weeks: Annotated[int, Field(ge=1, le=104)]


class Arm(_Section):
    belimumab: bool


class Enrollment(_Section):
    """The ages at day 0 a year of birth may give (whole years, both inclusive)."""

    age_at_day0_min: Annotated[int, Field(ge=0, le=120)]
    age_at_day0_max: Annotated[int, Field(ge=0, le=120)]

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.age_at_day0_min > self.age_at_day0_max:
            raise ValueError("age_at_day0_min must not be above age_at_day0_max")
        return self


class MpPulse(_Section):
    days: Annotated[int, Field(ge=1, le=7)]
    time: time
    total_mg_min: PositiveDecimal
    total_mg_max: PositiveDecimal
    max_single_dose_mg: PositiveDecimal

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.total_mg_min > self.total_mg_max:
            raise ValueError("total_mg_min must not exceed total_mg_max")
        return self


class Belimumab(_Section):
    mg_per_kg: PositiveDecimal
    initial_weeks: list[Week] = Field(min_length=1)
    then_every_weeks: Annotated[int, Field(ge=0, le=52)]
    through_week: Week
    window_days_before: Days
    window_days_after: Days
    min_days_between_infusions: Annotated[int, Field(ge=1, le=28)]
    time: time
    vial_sizes_mg: list[PositiveInt] = Field(min_length=1)
    concentration_mg_per_ml: PositiveDecimal

    @model_validator(mode="after")
    def _weeks(self) -> Self:
        if sorted(set(self.initial_weeks)) != self.initial_weeks:
            raise ValueError("initial_weeks must be increasing, without repeats")
        if self.initial_weeks[-1] > self.through_week:
            raise ValueError("initial_weeks must not go past through_week")
        # The plan itself must keep the spacing that /reschedule enforces.
        gaps = (7 * (b - a) for a, b in pairwise(self.weeks()))
        if any(gap < self.min_days_between_infusions for gap in gaps):
            raise ValueError("the infusion weeks must be at least min_days_between_infusions apart")
        return self

    def dose_plan(self, weight_kg: Decimal) -> BelimumabPlan:
        """The dose, vials and volume for a weight, with this protocol's numbers."""
        return belimumab_plan(
            weight_kg,
            self.mg_per_kg,
            tuple(self.vial_sizes_mg),
            self.concentration_mg_per_ml,
        )

    def weeks(self) -> list[int]:
        """Infusion weeks: the initial weeks, then every ``then_every_weeks``.

        Registry: "belimumab at a dose of 10mg per kilogram at weeks 2, 4, and 6,
        and every 4 weeks for 24 weeks" -> 2, 4, 6, 10, 14, 18, 22. Week 26 would
        fall after the 24-week induction, so ``through_week`` stops the series.
        Each week counts from day 0, never from the previous infusion.
        """
        weeks = list(self.initial_weeks)
        if self.then_every_weeks:
            week = weeks[-1] + self.then_every_weeks
            while week <= self.through_week:
                weeks.append(week)
                week += self.then_every_weeks
        return weeks


class RenalAssessment(_Section):
    weeks: list[Week] = Field(min_length=1)
    window_days_before: Days
    window_days_after: Days
    time: time

    @model_validator(mode="after")
    def _weeks(self) -> Self:
        if sorted(set(self.weeks)) != self.weeks:
            raise ValueError("weeks must be increasing, without repeats")
        return self


class Baseline(_Section):
    """When the week-0 assessments may be done, around day 0 (the first MP pulse day)."""

    window_days_before: Days
    window_days_after: Days


class UrineCollection(_Section):
    start_time: time
    hours: Literal[24]


class WeekList(_Section):
    weeks: list[Week] = Field(min_length=1)

    @model_validator(mode="after")
    def _weeks(self) -> Self:
        if sorted(set(self.weeks)) != self.weeks:
            raise ValueError("weeks must be increasing, without repeats")
        return self


class Medication(_Section):
    dose_times: list[time] = Field(min_length=1, max_length=4)
    lab_day_dose_delay_minutes: Annotated[int, Field(ge=0, le=240)]
    out_of_range: Literal["flag", "refuse"]
    mmf_g_per_day_min: PositiveDecimal
    mmf_g_per_day_max: PositiveDecimal
    tacrolimus_mg_per_day_min: PositiveDecimal
    tacrolimus_mg_per_day_max: PositiveDecimal
    mmf_g_per_day_refused_above: PositiveDecimal
    tacrolimus_mg_per_day_refused_above: PositiveDecimal

    @model_validator(mode="after")
    def _ranges(self) -> Self:
        if self.mmf_g_per_day_min > self.mmf_g_per_day_max:
            raise ValueError("mmf_g_per_day_min must not exceed mmf_g_per_day_max")
        if self.tacrolimus_mg_per_day_min > self.tacrolimus_mg_per_day_max:
            raise ValueError("tacrolimus_mg_per_day_min must not exceed tacrolimus_mg_per_day_max")
        if self.mmf_g_per_day_refused_above < self.mmf_g_per_day_max:
            raise ValueError("mmf_g_per_day_refused_above must not be below mmf_g_per_day_max")
        if self.tacrolimus_mg_per_day_refused_above < self.tacrolimus_mg_per_day_max:
            raise ValueError(
                "tacrolimus_mg_per_day_refused_above must not be below tacrolimus_mg_per_day_max"
            )
        if sorted(set(self.dose_times)) != self.dose_times:
            raise ValueError("dose_times must be increasing, without repeats")
        return self


class QuietHours(_Section):
    start: time
    end: time

    def contains(self, wall: time) -> bool:
        """True if a wall-clock time falls in the quiet hours [start, end).

        The span may wrap midnight (22:00-07:00). The end itself is not quiet,
        so a reminder at exactly 07:00 is allowed.
        """
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= wall < self.end
        return wall >= self.start or wall < self.end


class Reminders(_Section):
    evening_before: time
    infusion_morning: time


class Contact(_Section):
    role: Annotated[str, Field(pattern=r"^[a-z_]+$")]
    phone: Annotated[str, Field(pattern=r"^\+?[0-9][0-9 \-]{2,30}$")]


class Site(_Section):
    name: str
    emergency_number: Annotated[str, Field(pattern=r"^[0-9]{2,6}$")]
    location: Annotated[str, Field(min_length=1, max_length=200)]
    # A host name (RFC 1123): the right-hand side of every calendar entry's UID.
    calendar_domain: Annotated[
        str, Field(max_length=200, pattern=r"^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$")
    ]
    contacts: list[Contact] = Field(min_length=1)


class CreatinineUln(_Section):
    F: PositiveDecimal
    M: PositiveDecimal


class ReferenceRanges(_Section):
    # Named beside the limits wherever a default limit is used, so staff know its origin.
    creatinine_uln_source: Annotated[str, Field(min_length=1, max_length=60)]
    creatinine_uln_umol_l: CreatinineUln


class Response(_Section):
    cr_protein_below_g_24h: PositiveDecimal
    cr_albumin_above_g_dl: PositiveDecimal
    pr_protein_fall_more_than: Annotated[Decimal, Field(gt=0, lt=1)]
    pr_protein_below_g_24h: PositiveDecimal
    pr_rbc_fall_more_than: Annotated[Decimal, Field(gt=0, lt=1)]
    pr_creatinine_rise_less_than: Annotated[Decimal, Field(gt=0)]
    active_rbc_above_per_hpf: PositiveDecimal
    active_rbc_above_per_ul: PositiveDecimal
    active_wbc_above_per_hpf: PositiveDecimal
    pr_rbc_when_baseline_inactive: Literal["literal", "met_if_week_inactive"]
    # The registry's "cumulative complete response at week 24" read as CR at any
    # assessment up to week 24; CR at week 24 alone is the week-24 class, reported
    # beside it everywhere, so no second reading is offered.
    cumulative: Literal["any_assessment"]
    baseline_when_week0_missing: Literal["screening", "none"]
    wbc_casts_with_uti: Literal["count", "ignore"]


class AdverseEvents(_Section):
    ctcae_version: Literal["5.0"]
    serious_report_hours: Annotated[int, Field(ge=1, le=168)]


class Escalation(_Section):
    infusion_confirm_by: time
    urine_start_nudge_at: time
    sae_reminder_hours: list[Annotated[int, Field(ge=1, le=167)]] = Field(min_length=1)
    digest_time: time
    overdue_in_digests: Annotated[int, Field(ge=1, le=14)]
    summary_weekday: Annotated[int, Field(ge=0, le=6)]
    summary_time: time

    @model_validator(mode="after")
    def _increasing(self) -> Self:
        if sorted(set(self.sae_reminder_hours)) != self.sae_reminder_hours:
            raise ValueError("sae_reminder_hours must be increasing, without repeats")
        return self


class Pages(_Section):
    """The patients' pages (the links in their reminders): how long a link opens them."""

    link_days: Annotated[int, Field(ge=1, le=31)]


class Protocol(_Section):
    """The whole protocol file, validated."""

    version: str
    trial: Trial
    arms: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], Arm] = Field(min_length=1)
    enrollment: Enrollment
    mp_pulse: MpPulse
    belimumab: Belimumab
    renal_assessment: RenalAssessment
    baseline: Baseline
    urine_collection: UrineCollection
    sledai: WeekList
    cd20: WeekList
    medication: Medication
    quiet_hours: QuietHours
    reminders: Reminders
    site: Site
    reference_ranges: ReferenceRanges
    response: Response
    adverse_events: AdverseEvents
    escalation: Escalation
    pages: Pages
    wechat: Wechat

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        last = self.trial.induction_weeks
        for name, weeks in (
            ("renal_assessment.weeks", self.renal_assessment.weeks),
            ("sledai.weeks", self.sledai.weeks),
            ("cd20.weeks", self.cd20.weeks),
            ("belimumab weeks", self.belimumab.weeks()),
        ):
            if weeks[-1] > last:
                raise ValueError(f"{name} go past trial.induction_weeks ({last})")
        if self.reminders.infusion_morning >= self.belimumab.time:
            raise ValueError(
                "reminders.infusion_morning must be earlier than belimumab.time "
                "(a reminder may not come after the infusion it announces)"
            )
        if self.reminders.evening_before < self.urine_collection.start_time:
            raise ValueError(
                "reminders.evening_before must not be earlier than "
                "urine_collection.start_time (the evening reminder comes after the day's start)"
            )
        if self.escalation.sae_reminder_hours[-1] >= self.adverse_events.serious_report_hours:
            raise ValueError(
                "escalation.sae_reminder_hours must all come before "
                "adverse_events.serious_report_hours (the deadline has its own reminder)"
            )
        quiet = self.quiet_hours
        for key, wall in self._reminder_times():
            if quiet.contains(wall):
                raise ValueError(
                    f"{key} = {wall:%H:%M} falls in the quiet hours "
                    f"{quiet.start:%H:%M}-{quiet.end:%H:%M}"
                )
        return self

    def _reminder_times(self) -> list[tuple[str, time]]:
        times = [
            ("reminders.evening_before", self.reminders.evening_before),
            ("reminders.infusion_morning", self.reminders.infusion_morning),
            ("urine_collection.start_time", self.urine_collection.start_time),
        ]
        times += [
            (f"medication.dose_times[{i}]", t) for i, t in enumerate(self.medication.dose_times)
        ]
        times.append(("medication.lab_day_dose_delay_minutes", self.lab_day_dose_time()))
        times.append(("escalation.urine_start_nudge_at", self.escalation.urine_start_nudge_at))
        return times

    def lab_day_dose_time(self) -> time:
        """When the morning dose is due on a renal assessment day.

        docs/clinical-facts.md §2: on lab days the morning tacrolimus dose is
        taken after the blood draw (trough level), so the reminder waits for
        the visit time plus ``lab_day_dose_delay_minutes``.
        """
        visit = datetime.combine(date(2000, 1, 1), self.renal_assessment.time, tzinfo=UTC)
        delay = timedelta(minutes=self.medication.lab_day_dose_delay_minutes)
        return (visit + delay).time()

    def assessment_window(self, week: int) -> tuple[int, int]:
        """Days before and after its target date an assessment of ``week`` may be done.

        docs/clinical-facts.md §2: assessments have a window of +/- 3 days
        (``renal_assessment.window_days_*``, which SLEDAI-2K and CD20 share).
        Week 0 is the baseline, taken before the first MP pulse (day 0, §1), so
        it has its own window, ``baseline.window_days_*`` (days -3 to 0).
        """
        if week == 0:
            return self.baseline.window_days_before, self.baseline.window_days_after
        return self.renal_assessment.window_days_before, self.renal_assessment.window_days_after

    def gets_belimumab(self, arm: str) -> bool:
        return self.arms[arm].belimumab

    def response_options(self) -> ResponseOptions:
        """The response rules' thresholds and readings from this file."""
        r = self.response
        uln = self.reference_ranges.creatinine_uln_umol_l
        return ResponseOptions(
            cr_protein_below=Quantity(r.cr_protein_below_g_24h, Unit.G_PER_24H),
            cr_albumin_above=Quantity(r.cr_albumin_above_g_dl, Unit.G_PER_DL),
            pr_protein_fall_more_than=r.pr_protein_fall_more_than,
            pr_protein_below=Quantity(r.pr_protein_below_g_24h, Unit.G_PER_24H),
            pr_rbc_fall_more_than=r.pr_rbc_fall_more_than,
            pr_creatinine_rise_less_than=r.pr_creatinine_rise_less_than,
            sediment_rbc_above=(
                Quantity(r.active_rbc_above_per_ul, Unit.PER_UL),
                Quantity(r.active_rbc_above_per_hpf, Unit.PER_HPF),
            ),
            sediment_wbc_above=(Quantity(r.active_wbc_above_per_hpf, Unit.PER_HPF),),
            creatinine_uln_female=Quantity(uln.F, Unit.UMOL_PER_L),
            creatinine_uln_male=Quantity(uln.M, Unit.UMOL_PER_L),
            pr_rbc_when_baseline_inactive=RbcBaselineInactive(r.pr_rbc_when_baseline_inactive),
            cumulative=Cumulative(r.cumulative),
            endpoint_week=self.trial.induction_weeks,
            baseline_when_week0_missing=MissingWeek0(r.baseline_when_week0_missing),
            wbc_casts_with_uti=WbcCastsWithUti(r.wbc_casts_with_uti),
        )


class ProtocolError(Exception):
    """The protocol file cannot be used; the message says where and why."""


def _describe(error_items: Sequence[dict[str, object]], source: str) -> str:
    lines = [f"{source}: the protocol file is not valid:"]
    for item in error_items:
        loc = item.get("loc", ())
        key = ".".join(str(part) for part in loc) if isinstance(loc, tuple) else str(loc)
        key = key or "(file)"
        kind = item.get("type")
        message = str(item.get("msg", "")).removeprefix("Value error, ")
        if kind == "missing":
            lines.append(f"  - {key}: missing; this key is required")
        elif kind == "extra_forbidden":
            lines.append(f"  - {key}: unknown key (misspelt, or not part of the protocol)")
        elif isinstance(item.get("input"), dict):
            lines.append(f"  - {key}: {message}")
        else:
            lines.append(f"  - {key}: got {item.get('input')!r}; expected: {message}")
    return "\n".join(lines)


def parse_protocol(text: str, source: str = "protocol") -> Protocol:
    """Validate protocol TOML text; raise :class:`ProtocolError` naming every fault."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(f"{source}: not valid TOML: {exc}") from exc
    try:
        return Protocol.model_validate(raw)
    except ValidationError as exc:
        items = [dict(e) for e in exc.errors(include_url=False)]
        raise ProtocolError(_describe(items, source)) from None


def load_protocol(path: Path | None = None) -> Protocol:
    """Read and validate the protocol file (the bundled one when ``path`` is None)."""
    path = path or BUNDLED_PROTOCOL
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProtocolError(f"{path}: cannot read the protocol file: {exc.strerror}") from exc
    return parse_protocol(text, str(path))
