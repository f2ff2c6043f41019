"""Confirm / Cancel for clinical data typed by staff.

A one-message command is parsed and shown back as "what was understood",
with Confirm and Cancel buttons. Nothing clinical is stored until Confirm:
the parsed values wait in ``pending_action``. The buttons name that row, so a
button pressed twice, after Cancel, after it expired, or by someone else
changes nothing.

Each kind of action has its payload type, a frozen dataclass
(:class:`ActionSpec` ``[P]``). The row keeps it as JSON text written and read
by pydantic's ``TypeAdapter(P)``, so dates and decimals come back exactly as
they were understood. A row whose JSON no longer reads as its type (written
by an older version) is a stale button: nothing is stored.

The row remembers the message the command came in: editing that message
replaces the preview (:func:`core.store.pending_actions.replace_previews_from`),
so only the latest preview of a command can be confirmed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Any, Generic

from pydantic import TypeAdapter, ValidationError
from sqlmodel import Session, select
from typing_extensions import TypeVar

from bot.context import Ctx
from bot.conversations.feature import Feature
from bot.roles import may
from core.messages import N_, RuleError
from core.store.models import ActionStatus, AuditRecord, PendingAction
from core.store.uow import UnitOfWork
from scheduler.ports import SendOutcome

log = logging.getLogger(__name__)

# How long a Confirm button stays valid: long enough to check the summary,
# short enough that an old message cannot store stale data days later.
VALIDITY = timedelta(hours=2)

CONFIRM = N_("Confirm")
CANCEL = N_("Cancel")

NOT_VALID = N_("This button is no longer valid.")
STORED = N_("Already stored.")
STORED_AS = N_("Already stored as {name}.")
CANCELLED = N_("Cancelled earlier.")
EXPIRED = N_("This button has expired.")
REPLACED = N_("This preview was replaced by a newer one.")

# The audit record that keeps what a confirmed action stored, by name.
STORED_AS_RECORD = "action.stored_as"


# The payload type of an action; bare ``ActionSpec`` (the tables of all kinds) is any payload.
P = TypeVar("P", default=Any)


@dataclass(frozen=True, slots=True)
class Draft(Generic[P]):
    """What a command understood: the sentence shown, and the values to store."""

    summary: str
    payload: P
    warnings: tuple[str, ...] = field(default=())


After = Callable[[Ctx, Any], Awaitable[None]]


@dataclass(frozen=True)
class ActionSpec(Generic[P]):
    """How to store one kind of action (inside the transaction) and what to say after.

    ``payload_type`` is the frozen dataclass the command's :class:`Draft` carries;
    ``store`` gets it back, read from the pending row, at Confirm.
    """

    kind: str
    command: str  # the command whose permission Confirm re-checks
    payload_type: type[P]
    store: Callable[[Ctx, UnitOfWork, P], Any]
    after: After | None = None
    # The name staff know the stored row by ("AE8"), from what ``store`` returned:
    # kept in the audit trail with the action, for a Confirm pressed again.
    stored_name: Callable[[Any], str] | None = None

    @cached_property
    def adapter(self) -> TypeAdapter[P]:
        return TypeAdapter(self.payload_type)

    def dump(self, payload: P) -> str:
        """The payload as the JSON text the pending row keeps."""
        if not isinstance(payload, self.payload_type):
            raise TypeError(f"{self.kind} expects {self.payload_type.__name__} payloads")
        return self.adapter.dump_json(payload).decode("utf-8")

    def load(self, text: str) -> P | None:
        """The payload back from the row; None when it no longer reads as ``payload_type``."""
        try:
            return self.adapter.validate_json(text)
        except ValidationError:
            return None


async def propose(ctx: Ctx, kind: str, draft: Draft[Any]) -> None:
    """Show what was understood, with Confirm / Cancel; store nothing clinical yet."""
    spec = ctx.tables.actions.get(kind)
    if spec is None:
        raise KeyError(f"no action wired for {kind!r}")
    sent = ctx.inbound.sent
    with ctx.uow() as uow:
        action = uow.add(
            PendingAction(
                owner=ctx.person.key,
                kind=kind,
                payload=spec.dump(draft.payload),
                created_at=uow.now,
                expires_at=uow.now + VALIDITY,
                source_message=None if sent is None else sent.key,
            ),
            "action.proposed",
        )
    text = "\n".join([draft.summary, *draft.warnings])
    buttons = [
        [(ctx.t._(CONFIRM), f"act:{action.id}:ok"), (ctx.t._(CANCEL), f"act:{action.id}:no")]
    ]
    await ctx.reply(text, buttons)


async def decide(ctx: Ctx) -> None:
    """A Confirm or Cancel button (``act:<id>:ok|no``).

    A button that changes nothing says why as a toast: the action was stored
    already (and as what), cancelled earlier, expired, or replaced by the preview
    of the edited command; a button that is not
    this person's, or not a known action, is simply no longer valid.
    """
    parts = (ctx.inbound.token or "").split(":")
    if len(parts) != 3 or not parts[1].isdigit() or parts[2] not in {"ok", "no"}:
        await ctx.toast(ctx.t._(NOT_VALID))
        return
    action_id, choice = int(parts[1]), parts[2]
    result: Any = None
    spec: ActionSpec | None = None
    error: RuleError | None = None
    unusable: str | None = None
    try:
        # No network call inside the transaction: it holds SQLite's write lock.
        with ctx.uow() as uow:
            action = uow.session.get(PendingAction, action_id)
            unusable = _unusable(ctx, uow, action)
            if unusable is not None or action is None:
                spec = None
            else:
                spec = _decide(ctx, uow, action, choice)
                payload = None if spec is None else spec.load(action.payload)
                if spec is not None and payload is None:
                    # Written by an older version: like an expired button, nothing is stored.
                    log.warning("action %d (%s): payload no longer readable", action_id, spec.kind)
                    uow.update(
                        action, "action.expired", status=ActionStatus.EXPIRED, decided_at=uow.now
                    )
                    unusable, spec = ctx.t._(EXPIRED), None
                elif spec is not None:
                    result = spec.store(ctx, uow, payload)
                    uow.update(
                        action,
                        "action.confirmed",
                        status=ActionStatus.CONFIRMED,
                        decided_at=uow.now,
                    )
                    if spec.stored_name is not None:
                        uow.audit(
                            STORED_AS_RECORD,
                            PendingAction.__tablename__,
                            str(action.id),
                            after={"stored_as": spec.stored_name(result)},
                        )
    except RuleError as exc:
        # The data became invalid since it was typed (say, the study ID was
        # enrolled meanwhile): nothing was stored; close the action.
        error = exc
        with ctx.uow() as uow:
            action = uow.session.get(PendingAction, action_id)
            if action is not None and action.status == ActionStatus.OPEN:
                uow.update(
                    action, "action.failed", status=ActionStatus.CANCELLED, decided_at=uow.now
                )
    if unusable is not None:
        await ctx.toast(unusable)
        return
    await ctx.toast()
    await ctx.remove_options()
    if error is not None:
        await ctx.reply(ctx.t._("Nothing was stored: {reason}", reason=ctx.t.error(error)))
    elif spec is None:
        await ctx.reply(ctx.t._("Cancelled. Nothing was stored."))
    elif spec.after is not None:
        try:
            await spec.after(ctx, result)
        except SendOutcome as exc:
            # The data is stored (committed above); only a follow-up message
            # failed. Say so rather than let the generic handler claim that
            # nothing was saved.
            log.warning("after %s: follow-up not delivered: %s", spec.kind, exc)
            await ctx.reply(
                ctx.t._("Stored. A follow-up message could not be sent; please check /status.")
            )


def _decide(ctx: Ctx, uow: UnitOfWork, action: PendingAction, choice: str) -> ActionSpec | None:
    """The spec to store with, or None after recording the cancellation.

    Confirm re-checks the permission: a role may have been removed since.
    """
    spec = ctx.tables.actions.get(action.kind)
    if choice == "no" or spec is None or not may(ctx.person.role, spec.command):
        uow.update(action, "action.cancelled", status=ActionStatus.CANCELLED, decided_at=uow.now)
        return None
    return spec


def _unusable(ctx: Ctx, uow: UnitOfWork, action: PendingAction | None) -> str | None:
    """Why this button can change nothing (a toast), or None when it can."""
    if action is None or action.owner != ctx.person.key:
        return ctx.t._(NOT_VALID)
    match action.status:
        case ActionStatus.CONFIRMED:
            return _stored_text(ctx, uow.session, action)
        case ActionStatus.CANCELLED:
            return ctx.t._(CANCELLED)
        case ActionStatus.EXPIRED:
            return ctx.t._(EXPIRED)
        case ActionStatus.REPLACED:
            return ctx.t._(REPLACED)
    if action.expires_at <= uow.now:
        uow.update(action, "action.expired", status=ActionStatus.EXPIRED, decided_at=uow.now)
        return ctx.t._(EXPIRED)
    return None


def _stored_text(ctx: Ctx, session: Session, action: PendingAction) -> str:
    """The "already stored" toast, naming what was stored when the audit trail kept it."""
    query = (
        select(AuditRecord.after)
        .where(AuditRecord.entity == PendingAction.__tablename__)
        .where(AuditRecord.entity_key == str(action.id))
        .where(AuditRecord.action == STORED_AS_RECORD)
    )
    after = session.exec(query).first()
    name = None if after is None else json.loads(after).get("stored_as")
    if not isinstance(name, str):
        return ctx.t._(STORED)
    return ctx.t._(STORED_AS, name=name)


FEATURE = Feature("confirm and cancel", options=[(r"^act:", decide)])
