"""The endpoint summary from the database: ``/summary`` and the Monday 09:00 digest.

Here the records are loaded and the endpoints derived; the words are
:mod:`bot.views.summary`'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import date, datetime

from bot.context import Services
from bot.i18n import Translator
from bot.pagination import split_pages
from bot.routing import Router
from bot.views.summary import early_lines, summary_blocks
from core.endpoints import PatientEndpoints
from core.protocol import Protocol
from core.schedule import trial_today
from core.store.db import read_session
from core.store.models import StaffRole
from core.store.trial_data import load_trial_data
from core.tables.lab_file import derive_trial_endpoints
from core.trial_records import TrialData
from core.trial_summary import (
    EarlyProgress,
    SummaryOptions,
    TrialSummary,
    early_progress,
    summarize,
)

__all__ = [
    "load_outputs",
    "send_weekly_digest",
    "summary_blocks",
    "summary_for",
    "summary_text",
    "trial_summary",
    "weekly_content",
]


def load_outputs(
    services: Services, study_id: str | None = None, *, events: bool = False
) -> tuple[TrialData, dict[str, PatientEndpoints]]:
    """The records (all patients, or one) and each patient's endpoints from the lab file."""
    with read_session(services.engine) as session:
        data = load_trial_data(session, services.zone, study_id=study_id, events=events)
    return data, derive_trial_endpoints(data, services.protocol.response_options())


def trial_summary(
    data: TrialData, endpoints: Mapping[str, PatientEndpoints], protocol: Protocol, today: date
) -> TrialSummary:
    """The endpoint summary of ``data`` as of ``today``: the protocol's arms and endpoint week."""
    options = SummaryOptions(endpoint_week=protocol.response_options().endpoint_week)
    return summarize(data, endpoints, list(protocol.arms), today, options)


def summary_for(services: Services, at: datetime | None = None) -> TrialSummary:
    """The trial's endpoint summary from the database, as of ``at`` (default: now)."""
    data, endpoints = load_outputs(services)
    today = trial_today(at or services.clock.now(), services.zone)
    return trial_summary(data, endpoints, services.protocol, today)


def summary_text(services: Services, t: Translator, at: datetime | None = None) -> str:
    """The whole summary in one reader's language (may be longer than one message)."""
    summary = summary_for(services, at)
    return "\n".join(
        summary_blocks(t, summary, trial_today(at or services.clock.now(), services.zone))
    )


def weekly_content(services: Services, at: datetime) -> TrialSummary | EarlyProgress:
    """What the Monday message shows as of ``at``: the short progress while no patient has
    reached the endpoint week (:func:`core.trial_summary.early_progress`), else the summary."""
    data, endpoints = load_outputs(services, events=True)
    today = trial_today(at, services.zone)
    protocol = services.protocol
    week = protocol.response_options().endpoint_week
    early = early_progress(data, list(protocol.arms), today, week)
    return early if early is not None else trial_summary(data, endpoints, protocol, today)


async def send_weekly_digest(
    router: Router,
    services: Services,
    at: datetime | None = None,
    after: Callable[[Translator], list[str]] | None = None,
) -> int:
    """Send every active coordinator the summary in their language, in as many messages
    as it needs (each within a message's limit). Returns how many coordinators got it all.

    ``at`` is the instant the periodic job runs for (the summary's "today");
    ``after`` gives blocks to add at the end in the reader's language.
    While no patient has reached the endpoint week the message is a few lines
    (:func:`bot.views.summary.early_lines`) instead of empty response tables.
    A coordinator whose chat fails is logged by staff row id and skipped.
    """
    when = at or services.clock.now()
    content = await asyncio.to_thread(weekly_content, services, when)
    today = trial_today(when, services.zone)
    reached = 0
    for member in router.staff_to_alert([StaffRole.COORDINATOR]):
        if isinstance(content, EarlyProgress):
            blocks = ["\n".join(early_lines(member.t, content, today))]
        else:
            blocks = summary_blocks(member.t, content, today)
        if after is not None:
            blocks += after(member.t)
        pages = split_pages(blocks)
        if await router.to_staff_member(member, pages):
            reached += 1
    return reached
