"""A small seeded trial for the outputs tests (summary, export, plots), written through
the unit of work as the bot writes it.

Seven patients, today = 2026-11-30 (the harness's START, Shanghai):

=====  ============  =====  ===========================================================
ID     arm           day 0  renal course (baseline 4.2 g, RBC 40/hpf, WBC 12/hpf,
                            RBC casts, albumin 24 g/L, creatinine 80 µmol/L)
=====  ============  =====  ===========================================================
P01    belimumab_mt  06-01  w12 CR, w24 PR (protein 0.5 g)  -> cumulative CR
P02    belimumab_mt  06-01  w24 CR
P03    belimumab_mt  06-01  w24 NR (protein 3.0 g: no >50% fall); male
P07    belimumab_mt  06-01  baseline only, withdrawn
P04    mt_only       06-01  w24 PR (protein 1.0 g, creatinine 75 > 73 but < 1.3 x 80)
P05    mt_only       06-01  w12 NR, w24 protein only (incomplete -> NE)
P06    mt_only       10-01  baseline only, week 24 not reached yet
=====  ============  =====  ===========================================================
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from core.protocol import Protocol
from core.renal_panel import casts_row
from core.store.db import make_engine
from core.store.models import (
    AdverseEvent,
    Cd20Count,
    Cd20Unit,
    DoseAdministration,
    Drug,
    LabResult,
    Patient,
    PatientStatus,
    SledaiAssessment,
)
from core.store.services import enroll_patient
from core.store.uow import UnitOfWork
from core.units import CastKind

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
TODAY = date(2026, 11, 30)
EARLY = date(2026, 6, 1)
LATE = date(2026, 10, 1)

PATIENTS = {
    "P01": ("belimumab_mt", EARLY, "F"),
    "P02": ("belimumab_mt", EARLY, "F"),
    "P03": ("belimumab_mt", EARLY, "M"),
    "P07": ("belimumab_mt", EARLY, "F"),
    "P04": ("mt_only", EARLY, "F"),
    "P05": ("mt_only", EARLY, "F"),
    "P06": ("mt_only", LATE, "F"),
}

# Year of birth and informed-consent date, as /enroll asks them; P06 has neither
# (enrolled before they were asked: its AGE and RFICDTC stay empty).
BORN_CONSENT: dict[str, tuple[int, date]] = {
    "P01": (1984, date(2026, 5, 28)),
    "P02": (1990, date(2026, 5, 29)),
    "P03": (1975, date(2026, 5, 25)),
    "P07": (2001, date(2026, 6, 1)),
    "P04": (1968, date(2026, 5, 30)),
    "P05": (1995, date(2026, 5, 31)),
}

# (protein g/24h, rbc /hpf, wbc /hpf, casts, albumin g/L, creatinine µmol/L); None = not entered.
Panel = tuple[
    str | None, str | None, str | None, frozenset[CastKind] | None, str | None, str | None
]
BASELINE: Panel = ("4.2", "40", "12", frozenset({CastKind.RBC}), "24", "80")
CR_PANEL: Panel = ("0.25", "2", "3", frozenset(), "39", "69")
PANELS: dict[str, dict[int, Panel]] = {
    "P01": {
        0: BASELINE,
        12: ("0.30", "2", "3", frozenset(), "38", "65"),
        24: ("0.5", "4", "3", frozenset(), "36", "70"),
    },
    "P02": {0: BASELINE, 24: CR_PANEL},
    "P03": {0: BASELINE, 24: ("3.0", "30", "3", frozenset(), "30", "90")},
    "P07": {0: BASELINE},
    "P04": {0: BASELINE, 24: ("1.0", "10", "3", frozenset(), "30", "75")},
    "P05": {
        0: BASELINE,
        12: ("3.0", "30", "3", frozenset(), "30", "80"),
        24: ("0.3", None, None, None, None, None),
    },
    "P06": {0: BASELINE},
}
UNITS = ("g/24h", "/hpf", "/hpf", None, "g/L", "umol/L")
ANALYTES = (
    "urine_protein_24h",
    "urine_rbc",
    "urine_wbc",
    "urine_casts",
    "serum_albumin",
    "serum_creatinine",
)
# (week 0 total, renal), (week 24 total, renal)
SLEDAI = {
    "P01": ((12, 8), (4, 0)),
    "P02": ((16, 12), (2, 0)),
    "P03": ((10, 8), (10, 8)),
    "P04": ((14, 8), (6, 4)),
    "P05": ((12, 8), None),
    "P06": ((10, 4), None),
}
# (week 0 value, unit), (week 24 value, unit)
CD20 = {
    "P01": (("150", "/uL"), ("5", "/uL")),
    "P02": (("200", "/uL"), ("10", "/uL")),
    "P03": (("120", "/uL"), ("2", "%")),
    "P04": (("180", "/uL"), ("160", "/uL")),
}
# (study ID, term key, verbatim, grade, criteria, onset week)
AES = (
    ("P01", "lung_infection", "lung infection", 3, ("hospitalization",), 5),
    ("P01", "nausea", "nausea", 1, (), 2),
    ("P04", "shingles", "herpes zoster", 2, (), 10),
    ("P07", "anaphylaxis", "anaphylaxis", 4, ("life_threatening",), 2),
)


def at(day0: date, week: int, wall: time = time(8, 0)) -> datetime:
    """An instant on day 0 + ``week`` weeks, at ``wall`` in Shanghai."""
    return datetime.combine(day0 + timedelta(weeks=week), wall, tzinfo=SHANGHAI)


def add_panels(uow: UnitOfWork, patient_id: int, day0: date, weeks: dict[int, Panel]) -> None:
    """Write a patient's renal panels (``None`` values are not entered), week by week."""
    for week, panel in weeks.items():
        for analyte, value, unit in zip(ANALYTES, panel, UNITS, strict=True):
            if value is None:
                continue
            if isinstance(value, frozenset):
                value, unit = casts_row(value)
            assert isinstance(value, str) and unit is not None
            uow.add(
                LabResult(
                    patient_id=patient_id,
                    week=week,
                    analyte=analyte,
                    value=value,
                    unit=unit,
                    collected_at=at(day0, week),
                    entered_by=uow.actor,
                    entered_at=uow.now,
                ),
                "lab_result.entered",
            )


def seed_trial(engine: Engine, protocol: Protocol, now: datetime = NOW) -> dict[str, int]:
    """Write the trial above; returns the patients' row ids by study ID."""
    ids: dict[str, int] = {}
    with UnitOfWork(engine, "system", now) as uow:
        for study_id, (arm, day0, sex) in PATIENTS.items():
            patient = enroll_patient(
                uow,
                protocol,
                study_id=study_id,
                arm=arm,
                day0=day0,
                sex=sex,
                weight_kg="62",
                language="zh_Hans",
                timezone="Asia/Shanghai",
                daily_dose_reminders=False,
                birth_year=BORN_CONSENT.get(study_id, (None, None))[0],
                consent_date=BORN_CONSENT.get(study_id, (None, None))[1],
                now=now,
            )
            assert patient.id is not None
            ids[study_id] = patient.id
    with UnitOfWork(engine, "staff:1", now) as uow:
        for study_id, weeks in PANELS.items():
            add_panels(uow, ids[study_id], PATIENTS[study_id][1], weeks)
        for study_id, (base, later) in SLEDAI.items():
            day0 = PATIENTS[study_id][1]
            for week, scores in ((0, base), (24, later)):
                if scores is None:
                    continue
                uow.add(
                    SledaiAssessment(
                        patient_id=ids[study_id],
                        week=week,
                        assessed_on=day0 + timedelta(weeks=week),
                        total=scores[0],
                        renal_total=scores[1],
                        items=json.dumps([{"cause": None, "item": "proteinuria", "scored": True}]),
                        entered_by=uow.actor,
                        entered_at=now,
                    ),
                    "sledai.entered",
                )
        for study_id, counts in CD20.items():
            day0 = PATIENTS[study_id][1]
            for week, (value, unit) in zip((0, 24), counts, strict=True):
                uow.add(
                    Cd20Count(
                        patient_id=ids[study_id],
                        week=week,
                        value=value,
                        unit=Cd20Unit(unit),
                        collected_at=at(day0, week),
                        entered_by=uow.actor,
                        entered_at=now,
                    ),
                    "cd20.entered",
                )
        for study_id, term, verbatim, grade, criteria, week in AES:
            day0 = PATIENTS[study_id][1]
            event = AdverseEvent(
                patient_id=ids[study_id],
                ctcae_version="5.0",
                term=term,
                verbatim=verbatim,
                coded=True,
                grade=grade,
                onset_date=day0 + timedelta(weeks=week),
                awareness_at=now,
                reported_by=uow.actor,
                reported_at=now,
            )
            for criterion in criteria:
                setattr(event, criterion, True)
            uow.add(event, "adverse_event.reported")
        for study_id in ("P01", "P02"):
            day0 = PATIENTS[study_id][1]
            uow.add(
                DoseAdministration(
                    patient_id=ids[study_id],
                    drug=Drug.MP,
                    amount="500",
                    unit="mg",
                    given_on=day0,
                    recorded_by=uow.actor,
                    recorded_at=now,
                ),
                "dose.recorded",
            )
            for week in (2, 4, 6):
                uow.add(
                    DoseAdministration(
                        patient_id=ids[study_id],
                        drug=Drug.BELIMUMAB,
                        amount="620",
                        unit="mg",
                        given_on=day0 + timedelta(weeks=week),
                        weight_kg="62",
                        recorded_by=uow.actor,
                        recorded_at=now,
                    ),
                    "dose.recorded",
                )
        withdrawn = uow.session.get(Patient, ids["P07"])
        assert withdrawn is not None
        uow.update(withdrawn, "patient.withdrawn", status=PatientStatus.WITHDRAWN)
    return ids


def seeded_engine(path: Path, protocol: Protocol) -> Engine:
    """A SQLite database at ``path`` holding the seeded trial."""
    engine = make_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    seed_trial(engine, protocol)
    return engine
