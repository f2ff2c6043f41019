"""A small seeded trial for the /status, /reports and /triage tests.

The fake clock stands on Wednesday 2026-12-16, 10:00 in Shanghai: "this week"
runs from Monday 14 to Sunday 20 December. Six patients, written straight
into the store (through the unit of work) rather than through the commands
other tests cover:

========  ============  ==========  ==========================================================
patient   arm           day 0       this week / state
========  ============  ==========  ==========================================================
P01       belimumab_mt  2026-07-01  day 168: week-24 assessment today, done; its urine
                                    collection (started yesterday) finished; week 0 and 24
                                    panels -> CR; SLEDAI, CD20, doses, reminders recorded
P02       belimumab_mt  2026-06-30  day 169: week-24 assessment yesterday, done; its urine
                                    collection ended yesterday, not finished (overdue);
                                    panels -> PR; unreachable
P03       belimumab_mt  2026-12-01  infusion 1 yesterday, given (dose linked); not joined
P04       mt_only       2026-11-18  week-4 assessment today and its urine collection: due
P05       belimumab_mt  2026-12-03  infusion 1 tomorrow: due
P06       belimumab_mt  2026-11-30  infusion 1 on Monday, not given: overdue
========  ============  ==========  ==========================================================

Adverse events: P03 serious (hospitalisation), aware 5 hours ago, not
acknowledged (19 h left); P06 serious, aware 30 hours ago, not acknowledged
(overdue by 6 h); P01 serious, acknowledged; P04 not serious.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlmodel import col, select

from core.renal_panel import casts_row
from core.schedule import EventKind, Slot
from core.store.identities import bind_account
from core.store.models import (
    AdverseEvent,
    Cd20Count,
    Cd20Unit,
    Channel,
    DoseAdministration,
    Drug,
    EventStatus,
    LabResult,
    Patient,
    PatientReport,
    PlannedEventRow,
    Reminder,
    ReminderStatus,
    SledaiAssessment,
)
from core.store.uow import UnitOfWork
from core.units import CastKind
from tests.support.bot_harness import World

NOW = datetime(2026, 12, 16, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
ACTOR = "system"

PATIENTS: tuple[tuple[str, str, date], ...] = (
    ("P01", "belimumab_mt", date(2026, 7, 1)),
    ("P02", "belimumab_mt", date(2026, 6, 30)),
    ("P03", "belimumab_mt", date(2026, 12, 1)),
    ("P04", "mt_only", date(2026, 11, 18)),
    ("P05", "belimumab_mt", date(2026, 12, 3)),
    ("P06", "belimumab_mt", date(2026, 11, 30)),
)

# docs/clinical-facts.md §3's example: F, baseline 4.2 g, RBC 40/hpf, WBC 12/hpf, RBC casts,
# albumin 2.4 g/dL (24 g/L), creatinine 80 umol/L.
BASELINE: tuple[tuple[str, str, str], ...] = (
    ("urine_protein_24h", "4.2", "g/24h"),
    ("urine_rbc", "40", "/hpf"),
    ("urine_wbc", "12", "/hpf"),
    ("serum_albumin", "24", "g/L"),
    ("serum_creatinine", "80", "umol/L"),
)
# Week 24 -> CR: 0.25 g, RBC 2, WBC 3, no casts, albumin 39 g/L, creatinine 69 umol/L.
WEEK24_CR: tuple[tuple[str, str, str], ...] = (
    ("urine_protein_24h", "0.25", "g/24h"),
    ("urine_rbc", "2", "/hpf"),
    ("urine_wbc", "3", "/hpf"),
    ("serum_albumin", "39", "g/L"),
    ("serum_creatinine", "69", "umol/L"),
)
# Week 24 -> PR: albumin exactly 35 g/L (3.5 g/dL is not > 3.5), protein 0.30, RBC 4.
WEEK24_PR: tuple[tuple[str, str, str], ...] = (
    ("urine_protein_24h", "0.30", "g/24h"),
    ("urine_rbc", "4", "/hpf"),
    ("urine_wbc", "3", "/hpf"),
    ("serum_albumin", "35", "g/L"),
    ("serum_creatinine", "69", "umol/L"),
)


@dataclass(frozen=True, slots=True)
class Seeded:
    ids: dict[str, int]
    ae_p03: int
    ae_p06: int
    ae_p01: int
    ae_p04: int


def _event(uow: UnitOfWork, patient_id: int, kind: EventKind, week: int) -> PlannedEventRow:
    return uow.session.exec(
        select(PlannedEventRow)
        .where(PlannedEventRow.patient_id == patient_id)
        .where(PlannedEventRow.kind == kind)
        .where(PlannedEventRow.week == week)
    ).one()


def add_labs(
    uow: UnitOfWork,
    patient_id: int,
    week: int,
    values: tuple[tuple[str, str, str], ...],
    casts: frozenset[CastKind],
) -> None:
    """A renal panel of ``week`` (the five values and the casts), collected yesterday."""
    collected = NOW - timedelta(days=1)
    value, unit = casts_row(casts)
    for analyte, number, symbol in (*values, ("urine_casts", value, unit)):
        uow.add(
            LabResult(
                patient_id=patient_id,
                week=week,
                analyte=analyte,
                value=number,
                unit=symbol,
                collected_at=collected,
                entered_by=ACTOR,
                entered_at=NOW,
            ),
            "lab_result.entered",
        )


def _ae(
    uow: UnitOfWork,
    patient_id: int,
    term: str | None,
    verbatim: str,
    grade: int,
    aware: datetime,
    *,
    serious: bool,
    acknowledged: bool = False,
) -> int:
    event = uow.add(
        AdverseEvent(
            patient_id=patient_id,
            ctcae_version="5.0",
            term=term,
            verbatim=verbatim,
            coded=term is not None,
            grade=grade,
            hospitalization=serious,
            onset_date=aware.date(),
            awareness_at=aware,
            acknowledged_at=aware + timedelta(hours=1) if acknowledged else None,
            acknowledged_by="staff:99" if acknowledged else None,
            reported_by=ACTOR,
            reported_at=aware,
        ),
        "adverse_event.reported",
    )
    assert event.id is not None
    return event.id


def seed_trial(world: World) -> Seeded:
    """Enroll the six patients and record what the table above says."""
    world.clock.set(NOW)
    ids: dict[str, int] = {}
    for study_id, arm, day0 in PATIENTS:
        patient = world.enroll(study_id, arm=arm, day0=day0, weight="62")
        assert patient.id is not None
        ids[study_id] = patient.id
    with UnitOfWork(world.services.engine, ACTOR, NOW) as uow:
        for number, (study_id, _, _) in enumerate(PATIENTS, start=1):
            row = uow.session.get(Patient, ids[study_id])
            assert row is not None
            if study_id != "P03":
                account = str(90_000 + number)
                bind_account(uow, row, Channel.TELEGRAM, account, account)
            if study_id == "P02":
                uow.update(row, "patient.unreachable", unreachable_since=NOW - timedelta(days=2))

        for study_id in ("P01", "P02"):
            assessment = _event(uow, ids[study_id], EventKind.RENAL_ASSESSMENT, 24)
            uow.update(
                assessment,
                "event.done",
                status=EventStatus.DONE,
                actual_date=assessment.scheduled_date,
            )
        collection = _event(uow, ids["P01"], EventKind.URINE_COLLECTION, 24)
        end = uow.session.exec(
            select(Reminder)
            .where(Reminder.event_id == collection.id)
            .where(Reminder.slot == Slot.URINE_END)
        ).one()
        uow.update(end, "reminder.answered", response="finished", responded_at=NOW)

        infusion = _event(uow, ids["P03"], EventKind.BELIMUMAB_INFUSION, 2)
        uow.add(
            DoseAdministration(
                patient_id=ids["P03"],
                drug=Drug.BELIMUMAB,
                amount="620",
                unit="mg",
                given_on=infusion.scheduled_date,
                weight_kg="62",
                vial_plan=json.dumps([400, 120, 120]),
                event_id=infusion.id,
                recorded_by=ACTOR,
                recorded_at=NOW,
            ),
            "dose.recorded",
        )

        add_labs(uow, ids["P01"], 0, BASELINE, frozenset({CastKind.RBC}))
        add_labs(uow, ids["P01"], 24, WEEK24_CR, frozenset())
        add_labs(uow, ids["P02"], 0, BASELINE, frozenset({CastKind.RBC}))
        add_labs(uow, ids["P02"], 24, WEEK24_PR, frozenset())

        ae_p03 = _ae(
            uow,
            ids["P03"],
            "lung_infection",
            "lung infection",
            3,
            NOW - timedelta(hours=5),
            serious=True,
        )
        ae_p06 = _ae(
            uow, ids["P06"], None, "fall at home", 3, NOW - timedelta(hours=30), serious=True
        )
        ae_p01 = _ae(
            uow,
            ids["P01"],
            "shingles",
            "herpes zoster",
            2,
            NOW - timedelta(days=40),
            serious=True,
            acknowledged=True,
        )
        ae_p04 = _ae(
            uow, ids["P04"], "headache", "headache", 1, NOW - timedelta(days=3), serious=False
        )
        _p01_details(uow, ids["P01"])
    return Seeded(ids, ae_p03, ae_p06, ae_p01, ae_p04)


def _p01_details(uow: UnitOfWork, patient_id: int) -> None:
    """SLEDAI-2K and CD20 trends, doses, and a few reminders' fates for /status P01."""
    for week, total, renal in ((0, 16, 12), (12, 8, 4), (24, 2, 0)):
        uow.add(
            SledaiAssessment(
                patient_id=patient_id,
                week=week,
                assessed_on=date(2026, 7, 1) + timedelta(weeks=week),
                total=total,
                renal_total=renal,
                items="[]",
                entered_by=ACTOR,
                entered_at=NOW,
            ),
            "sledai.entered",
        )
    for week, value, unit in (
        (0, "120", Cd20Unit.PER_UL),
        (4, "3.5", Cd20Unit.PER_UL),
        (12, "0.8", Cd20Unit.PERCENT),
    ):
        uow.add(
            Cd20Count(
                patient_id=patient_id,
                week=week,
                value=value,
                unit=unit,
                collected_at=NOW - timedelta(weeks=24 - week),
                entered_by=ACTOR,
                entered_at=NOW,
            ),
            "cd20.entered",
        )
    for day in range(3):
        uow.add(
            DoseAdministration(
                patient_id=patient_id,
                drug=Drug.MP,
                amount="500",
                unit="mg",
                given_on=date(2026, 7, 1) + timedelta(days=day),
                recorded_by=ACTOR,
                recorded_at=NOW,
            ),
            "dose.recorded",
        )
    for week in (2, 4, 6, 10):
        uow.add(
            DoseAdministration(
                patient_id=patient_id,
                drug=Drug.BELIMUMAB,
                amount="620",
                unit="mg",
                given_on=date(2026, 7, 1) + timedelta(weeks=week),
                weight_kg="62",
                recorded_by=ACTOR,
                recorded_at=NOW,
            ),
            "dose.recorded",
        )
    reminders = uow.session.exec(
        select(Reminder)
        .where(Reminder.patient_id == patient_id)
        .order_by(col(Reminder.due_at))
        .limit(4)
    ).all()
    fates = (
        (ReminderStatus.SENT, "yes"),
        (ReminderStatus.SENT, "later"),
        (ReminderStatus.SENT, None),
        (ReminderStatus.FAILED, None),
    )
    for reminder, (status, response) in zip(reminders, fates, strict=True):
        uow.update(reminder, "reminder.seeded", status=status, response=response, last_error=None)


def open_report(
    world: World,
    study_id: str,
    *,
    category: str = "fever_infection",
    severity: str = "moderate",
    onset: str = "yesterday",
    text: str | None = "Fever 38.5 since last night",
    red_flag: bool = False,
    created: datetime | None = None,
) -> int:
    """A patient report waiting for triage, as /report stores it."""
    patient = world.patient(study_id)
    assert patient.id is not None
    when = created or world.clock.now()
    with UnitOfWork(world.services.engine, f"patient:{study_id}", when) as uow:
        report = uow.add(
            PatientReport(
                patient_id=patient.id,
                category=category,
                severity=severity,
                onset=onset,
                free_text=text,
                red_flag=red_flag,
                created_at=when,
            ),
            "patient_report.created",
        )
    assert report.id is not None
    return report.id


async def wait_for_page(world: World, user: int, message_id: int, page: int, pages: int) -> str:
    """Wait until the paged message shows ``page`` of ``pages``; its text."""

    def shown() -> bool:
        return f"Page {page} of {pages}" in world.api.message(user, message_id).shown

    await world.api.wait_until(shown, what=f"page {page} of {pages}")
    return world.api.message(user, message_id).shown
