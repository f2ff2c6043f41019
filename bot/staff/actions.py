"""Confirm / Cancel for clinical data typed by staff.

A one-message command is parsed and shown back as "what was understood",
with Confirm and Cancel buttons. Nothing clinical is stored until Confirm:
the parsed values wait in ``pending_action``. The buttons name that row, so a
button pressed twice, after Cancel, after it expired, or by someone else
changes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.context import Ctx
from bot.conversations.feature import Feature
from bot.roles import may
from core.messages import N_, RuleError
from core.store.models import ActionStatus, PendingAction
from core.store.uow import UnitOfWork
from scheduler.ports import SendOutcome

log = logging.getLogger(__name__)

# How long a Confirm button stays valid: long enough to check the summary,
# short enough that an old message cannot store stale data days later.
VALIDITY = timedelta(hours=2)

CONFIRM = N_("Confirm")
CANCEL = N_("Cancel")


@dataclass(frozen=True, slots=True)
class Draft:
    """What a command understood: the sentence shown, and the values to store."""

    summary: str
    payload: dict[str, Any]
    warnings: tuple[str, ...] = field(default=())


Store = Callable[[Ctx, UnitOfWork, dict[str, Any]], Any]
After = Callable[[Ctx, Any], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """How to store one kind of action (inside the transaction) and what to say after."""

    kind: str
    command: str  # the command whose permission Confirm re-checks
    store: Store
    after: After | None = None


async def propose(ctx: Ctx, kind: str, draft: Draft) -> None:
    """Show what was understood, with Confirm / Cancel; store nothing clinical yet."""
    if kind not in ctx.tables.actions:
        raise KeyError(f"no action wired for {kind!r}")
    with ctx.uow() as uow:
        action = uow.add(
            PendingAction(
                owner=ctx.person.key,
                kind=kind,
                payload=json.dumps(draft.payload, ensure_ascii=False, sort_keys=True),
                created_at=uow.now,
                expires_at=uow.now + VALIDITY,
            ),
            "action.proposed",
        )
    text = "\n".join([draft.summary, *draft.warnings])
    buttons = [
        [(ctx.t._(CONFIRM), f"act:{action.id}:ok"), (ctx.t._(CANCEL), f"act:{action.id}:no")]
    ]
    await ctx.reply(text, buttons)


async def decide(ctx: Ctx) -> None:
    """A Confirm or Cancel button (``act:<id>:ok|no``)."""
    parts = (ctx.inbound.token or "").split(":")
    if len(parts) != 3 or not parts[1].isdigit() or parts[2] not in {"ok", "no"}:
        await ctx.toast(ctx.t._("This button is no longer valid."))
        return
    action_id, choice = int(parts[1]), parts[2]
    result: Any = None
    spec: ActionSpec | None = None
    error: RuleError | None = None
    stale = False
    try:
        # No network call inside the transaction: it holds SQLite's write lock.
        with ctx.uow() as uow:
            action = uow.session.get(PendingAction, action_id)
            stale = not _usable(ctx, uow, action)
            if stale or action is None:
                spec = None
            else:
                spec = _decide(ctx, uow, action, choice)
                if spec is not None:
                    result = spec.store(ctx, uow, json.loads(action.payload))
                    uow.update(
                        action,
                        "action.confirmed",
                        status=ActionStatus.CONFIRMED,
                        decided_at=uow.now,
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
    if stale:
        await ctx.toast(ctx.t._("This button is no longer valid."))
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


def _usable(ctx: Ctx, uow: UnitOfWork, action: PendingAction | None) -> bool:
    if action is None or action.owner != ctx.person.key:
        return False
    if action.status != ActionStatus.OPEN:
        return False
    if action.expires_at <= uow.now:
        uow.update(action, "action.expired", status=ActionStatus.EXPIRED, decided_at=uow.now)
        return False
    return True


FEATURE = Feature("confirm and cancel", options=[(r"^act:", decide)])
