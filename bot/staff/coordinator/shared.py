"""What the coordinator commands share: the trial's today, event titles, join links, patients."""

from __future__ import annotations

import logging

from sqlmodel import Session

from bot.context import Ctx
from bot.i18n import Translator
from bot.texts import EVENT_TITLES
from core.messages import N_, RuleError
from core.schedule import EventKind
from core.store.models import Patient, PatientStatus
from core.store.services import patient_by_study_id

__all__ = ["active_patient", "event_title", "join_link", "log"]

# One logger for all the coordinator commands, named as when they were one module.
log = logging.getLogger("bot.staff.coordinator")


def event_title(t: Translator, kind: EventKind, number: int) -> str:
    return t._(EVENT_TITLES[kind], number=number)


def join_link(ctx: Ctx, token: str) -> str:
    """The deep link that opens the bot with ``/start <token>``."""
    username = ctx.services.bot_username
    assert username is not None, "the bot's name is known once the application has started"
    return f"https://t.me/{username}?start={token}"


def active_patient(session: Session, study_id: str) -> Patient:
    """An active patient by study ID, else a refusal."""
    patient = patient_by_study_id(session, study_id)
    if patient is None:
        raise RuleError(N_("There is no patient {study_id}."), study_id=study_id)
    if patient.status == PatientStatus.WITHDRAWN:
        raise RuleError(
            N_("{study_id} is withdrawn from the study; nothing can be changed for them."),
            study_id=patient.study_id,
        )
    if patient.status != PatientStatus.ACTIVE:
        raise RuleError(
            N_("{study_id} has completed the study; nothing can be changed for them."),
            study_id=patient.study_id,
        )
    return patient
