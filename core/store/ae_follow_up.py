"""An adverse event followed to its end (``/ae AE12 outcome=recovered end=...``).

The follow-up changes the stored event in place: its outcome, the action taken
with the study drugs, its end date and its relatedness to each study drug. The
unit of work's audit record (``adverse_event.followed_up``) keeps the old and
the new value of every column changed, with who and when, as a correction
does (:mod:`core.store.corrections`); it needs no reason, since it adds what
happened since rather than fixing what was written (GCP, ICH E6 §4.9.3: the
old values stay readable in the trail).

The rules are :func:`core.ae_outcomes.check_follow_up`; they are checked again
inside the storing transaction, against the row as it is then. Logs name row
ids only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from core.ae_outcomes import Action, Outcome, check_follow_up
from core.entry_syntax import Relatedness
from core.messages import N_, RuleError
from core.store.models import AdverseEvent
from core.store.uow import UnitOfWork
from core.vocabulary import Drug

log = logging.getLogger(__name__)

FOLLOWED_UP = "adverse_event.followed_up"

NOTHING_NEW = N_("The follow-up changes nothing: the stored values are already these.")

#: The column holding each study drug's relatedness; after ``related_`` is the drug's
#: code in the outputs (core.trial_records.AdverseEventRecord.related_to).
DRUG_COLUMNS: dict[Drug, str] = {
    Drug.BELIMUMAB: "related_belimumab",
    Drug.MMF: "related_mmf",
    Drug.TACROLIMUS: "related_tacrolimus",
    Drug.MP: "related_methylprednisolone",
}


@dataclass(frozen=True, slots=True)
class AdverseEventFollowUp:
    """What a follow-up sets; None (or a drug left out) keeps the stored value."""

    outcome: Outcome | None = None
    action: Action | None = None
    end: date | None = None
    related: tuple[tuple[Drug, Relatedness], ...] = ()


def stored_outcome(event: AdverseEvent) -> Outcome | None:
    """The event's stored outcome as an :class:`Outcome`; a word stored before the
    follow-up existed that is none of them reads as None."""
    try:
        return None if event.outcome is None else Outcome(event.outcome)
    except ValueError:
        return None


def follow_up_columns(
    event: AdverseEvent, follow_up: AdverseEventFollowUp, today: date
) -> dict[str, object]:
    """The columns ``follow_up`` gives new values, only those that differ from ``event``'s.

    Refuses what :func:`core.ae_outcomes.check_follow_up` refuses; an outcome
    that goes on clears a stored end date.
    """
    assert event.id is not None
    outcome = follow_up.outcome if follow_up.outcome is not None else stored_outcome(event)
    end = check_follow_up(
        ae_id=event.id,
        grade=event.grade,
        onset=event.onset_date,
        outcome=outcome,
        end=follow_up.end if follow_up.end is not None else event.end_date,
        end_given=follow_up.end is not None,
        today=today,
    )
    wanted: dict[str, object] = {"end_date": end}
    if follow_up.outcome is not None:
        wanted["outcome"] = follow_up.outcome.value
    if follow_up.action is not None:
        wanted["action"] = follow_up.action.value
    for drug, relatedness in follow_up.related:
        wanted[DRUG_COLUMNS[drug]] = relatedness.value
    return {k: v for k, v in wanted.items() if getattr(event, k) != v}


def follow_up_adverse_event(
    uow: UnitOfWork, ae_id: int, follow_up: AdverseEventFollowUp, today: date
) -> AdverseEvent:
    """Record how adverse event ``ae_id`` went on or ended (``adverse_event.followed_up``:
    old and new values).

    Refuses an event that is gone, a follow-up the rules refuse, and one that
    changes nothing.
    """
    event = uow.session.get(AdverseEvent, ae_id)
    if event is None:
        raise RuleError(N_("There is no adverse event AE{id}."), id=ae_id)
    columns = follow_up_columns(event, follow_up, today)
    if not columns:
        raise RuleError(NOTHING_NEW)
    uow.update(event, FOLLOWED_UP, reason=None, **columns)
    log.info("AE%s followed up (%s)", ae_id, ", ".join(sorted(columns)))
    return event
