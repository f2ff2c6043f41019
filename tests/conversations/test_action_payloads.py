"""The typed Confirm payloads: every action's payload round-trips through the pending row's
JSON exactly (dates, decimals with their digits), and a row whose JSON no longer reads as its
type is a stale button: Confirm stores nothing and says the button has expired."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from bot.conversations.tables import Tables
from bot.features import FEATURES
from bot.staff.actions import ActionSpec
from bot.staff.adverse_events import AePayload
from bot.staff.ae_follow_up import FollowUpPayload
from bot.staff.assessments import Cd20Payload, SledaiPayload
from bot.staff.coordinator.enroll import EnrollRequest
from bot.staff.coordinator.reschedule import RescheduleRequest
from bot.staff.coordinator.team import RemoveRequest, RevokeRequest
from bot.staff.coordinator.withdraw import WithdrawRequest
from bot.staff.corrections import AeCorrection, LabCorrection
from bot.staff.doses import DosePayload, VialPlan
from bot.staff.labs import LabsPayload
from bot.staff.reports import ClosePayload, TriageAePayload
from bot.staff.visits import VisitRequest
from bot.staff.weight import WeightPayload
from core.adverse_events import Seriousness
from core.ae_outcomes import Action, Outcome
from core.entry_syntax import Relatedness
from core.rescheduling import EventChoice
from core.store.ae_follow_up import AdverseEventFollowUp
from core.store.clinical import AdverseEventEntry, LabValue, SledaiItem
from core.store.corrections import AdverseEventChange, LabFix
from core.store.models import ActionStatus, Cd20Unit, Drug, Patient, PendingAction
from core.store.uow import UnitOfWork
from core.visits import VisitMark
from tests.support.bot_harness import World
from tests.support.clinical_world import NOW, member, press_data, rows

EVENT = AdverseEventEntry(
    verbatim="肺部感染",
    term="lung_infection",
    grade=3,
    serious=(Seriousness.HOSPITALIZATION, Seriousness.LIFE_THREATENING),
    onset=date(2026, 12, 20),
    related=Relatedness.POSSIBLE,
)

# One payload of every kind, with the awkward values: trailing zeros, exponents, None.
EXAMPLES: dict[str, Any] = {
    "ae": AePayload(1, "P01", EVENT),
    "triage_ae": TriageAePayload(7, "P01", EVENT),
    "triage_close": ClosePayload(7, "P01", "电话随访，已好转"),
    "labs": LabsPayload(
        1,
        "P01",
        24,
        date(2026, 12, 21),
        True,
        (
            LabValue("urine_protein_24h", Decimal("0.250"), "g/24h"),
            LabValue("serum_creatinine", Decimal("69"), "umol/L", Decimal("1.0E+2"), "umol/L"),
        ),
        "病人住院，外院采样",
    ),
    "sledai": SledaiPayload(
        1,
        "P01",
        12,
        date(2026, 12, 21),
        (SledaiItem("haematuria", None, True), SledaiItem("leukopenia", "drug", False)),
        4,
        4,
        None,
    ),
    "cd20": Cd20Payload(
        1, "P01", 4, date(2026, 12, 21), Decimal("8.50"), Cd20Unit.PERCENT, "travel"
    ),
    "dose": DosePayload(
        1,
        "P01",
        Drug.BELIMUMAB,
        Decimal("620"),
        "mg",
        date(2026, 12, 15),
        weight_kg=Decimal("62.0"),
        vial_plan=VialPlan(
            Decimal("62.0"),
            Decimal("10"),
            Decimal("620"),
            (400, 120, 120),
            Decimal("640"),
            Decimal("20"),
            Decimal("80"),
            Decimal("7.75"),
        ),
        reason="infusion chair booked out",
    ),
    "weight": WeightPayload(1, "P01", Decimal("61.50")),
    "enroll": EnrollRequest(
        "P01",
        "belimumab_mt",
        date(2026, 12, 1),
        "F",
        Decimal("62.5"),
        "zh_Hans",
        True,
        1984,
        date(2026, 11, 28),
    ),
    "withdraw": WithdrawRequest("P01", "consent withdrawn"),
    "staff_remove": RemoveRequest(3, "left the unit"),
    "invite_revoke": RevokeRequest(7, "sent to the wrong person"),
    "reschedule": RescheduleRequest("P01", EventChoice.INFUSION, 3, date(2026, 12, 18), None),
    "ae_follow_up": FollowUpPayload(
        12,
        "P01",
        AdverseEventFollowUp(
            Outcome.RECOVERED_WITH_SEQUELAE,
            Action.DRUG_INTERRUPTED,
            date(2026, 12, 30),
            ((Drug.MP, Relatedness.PROBABLE), (Drug.MMF, Relatedness.UNRELATED)),
        ),
    ),
    "visit": VisitRequest("P01", EventChoice.ASSESSMENT, 4, VisitMark.MISSED, "受试者在外院住院"),
    "correct_ae": AeCorrection(
        12,
        "P01",
        AdverseEventChange(grade=2, onset=date(2026, 12, 19), verbatim="皮疹", term=None),
        "抄写错误",
    ),
    "correct_labs": LabCorrection(
        1,
        "P01",
        12,
        (
            LabFix(5, LabValue("serum_creatinine", Decimal("71.0"), "umol/L")),
            LabFix(6, LabValue("urine_protein_24h", Decimal("2.5E-1"), "g/24h")),
        ),
        "transcription",
    ),
}


def specs() -> dict[str, ActionSpec]:
    return dict(Tables.build(FEATURES).actions)


def test_every_action_has_an_example() -> None:
    assert set(specs()) == set(EXAMPLES)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_a_payload_round_trips_through_json_exactly(kind: str) -> None:
    spec = specs()[kind]
    payload = EXAMPLES[kind]
    assert isinstance(payload, spec.payload_type)
    text = spec.dump(payload)
    json.loads(text)  # the row keeps JSON text
    back = spec.load(text)
    assert back == payload
    # Equal is not enough for decimals: Decimal("61.50") == Decimal("61.5").
    assert repr(back) == repr(payload)


def test_decimals_and_dates_are_kept_as_text_in_the_row() -> None:
    spec = specs()["weight"]
    assert json.loads(spec.dump(EXAMPLES["weight"]))["weight_kg"] == "61.50"
    assert json.loads(specs()["ae"].dump(EXAMPLES["ae"]))["event"]["onset"] == "2026-12-20"


def test_a_payload_of_another_kind_is_refused_when_proposed() -> None:
    with pytest.raises(TypeError):
        specs()["weight"].dump(EXAMPLES["withdraw"])


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
@pytest.mark.parametrize("text", ["{}", '{"patient_id": "P01"}', "not json", "[]"])
def test_json_that_no_longer_reads_is_none(kind: str, text: str) -> None:
    assert specs()[kind].load(text) is None


@pytest.mark.parametrize(
    "old",
    [
        # Written by the version before typed payloads: flat keys, decimals as text.
        '{"patient_id": 1, "study_id": "P01", "weight": "61.5"}',
        "{broken",
    ],
)
async def test_confirm_on_a_payload_that_no_longer_reads_stores_nothing(
    world: World, old: str
) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", "en")
    world.clock.set(NOW)
    summary = await world.say(nurse, "/weight P01 61.5kg")
    (action,) = rows(world, PendingAction)
    with UnitOfWork(world.services.engine, "system", world.clock.now()) as uow:
        row = uow.session.get(PendingAction, action.id)
        assert row is not None
        row.payload = old  # an old row, as if written before an upgrade
    (patient,) = rows(world, Patient)
    await press_data(world, nurse, summary, ":ok")
    answers = await _answers(world, summary.message_id)
    assert answers == ["This button has expired."]
    (after,) = rows(world, Patient)
    assert after.weight_kg == patient.weight_kg
    (closed,) = rows(world, PendingAction)
    assert closed.status == ActionStatus.EXPIRED
    # Pressed again: still expired, still nothing stored.
    await press_data(world, nurse, summary, ":ok")
    assert (await _answers(world, summary.message_id, 2))[1] == "This button has expired."
    assert rows(world, Patient)[0].weight_kg == patient.weight_kg


async def _answers(world: World, message_id: int, count: int = 1) -> list[str | None]:
    for _ in range(100):
        found = [a.text for a in world.api.callback_answers if a.message_id == message_id]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} answers to message {message_id}")
