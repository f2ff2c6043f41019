"""/staff: the study team at a glance; ending a member's access; revoking an invitation.

``/staff`` lists every member (role, joined, last active, their Telegram or
WeCom ids, never a name) and the invitations still open; ``/staff remove S3
reason=...`` and ``/staff revoke I7 reason=...`` act on Confirm
(:mod:`core.store.staff_access`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.context import Ctx
from bot.conversations.feature import Feature
from bot.handlers.joining import ROLE_NAMES
from bot.i18n import Translator
from bot.staff.actions import ActionSpec, Draft, propose
from bot.staff.commands import StaffCommand
from bot.staff.coordinator.shared import log
from bot.texts import CHANNEL_NAMES
from core.messages import N_, RuleError
from core.store.db import read_session
from core.store.models import Invite
from core.store.staff_access import (
    Member,
    end_access,
    invite_to_revoke,
    member_to_remove,
    revoke_invite,
    team,
)
from core.store.uow import UnitOfWork

STAFF_USAGE = N_(
    "/staff, /staff remove S<number> reason=<why>, or /staff revoke I<number> reason=<why>  "
    "e.g. /staff remove S3 reason=left the unit"
)
_REMOVE = {"remove", "移除", "停用"}
_REVOKE = {"revoke", "撤销", "作废"}
_REASON_LIMIT = 500


def _number(word: str, prefix: str) -> int | None:
    match = re.fullmatch(rf"(?i){prefix}?(\d{{1,9}})", word)
    return int(match.group(1)) if match else None


def _reason(words: list[str]) -> str:
    text = " ".join(words).strip()
    for key in ("reason=", "原因="):
        if text.lower().startswith(key):
            text = text[len(key) :].strip()
    if not text:
        raise RuleError(N_("A reason is required: add reason=<why>."))
    if len(text) > _REASON_LIMIT:
        raise RuleError(
            N_("The reason is too long: at most {limit} characters."), limit=_REASON_LIMIT
        )
    return text


async def run_staff(ctx: Ctx, args: list[str]) -> None:
    if not args:
        await ctx.reply(_team_text(ctx))
        return
    verb = args[0].lower()
    if verb in _REMOVE and len(args) >= 2:
        staff_id = _number(args[1], "S")
        if staff_id is None:
            raise RuleError(STAFF_USAGE)
        await _propose_removal(ctx, staff_id, _reason(args[2:]))
    elif verb in _REVOKE and len(args) >= 2:
        invite_id = _number(args[1], "I")
        if invite_id is None:
            raise RuleError(STAFF_USAGE)
        await _propose_revocation(ctx, invite_id, _reason(args[2:]))
    else:
        raise RuleError(STAFF_USAGE)


def _accounts(t: Translator, member: Member) -> str:
    if not member.accounts:
        return t._("no account")
    return t.join(
        [
            t._(
                "{channel} {account}",
                channel=t._(CHANNEL_NAMES[a.channel]),
                account=a.account,
            )
            for a in member.accounts
        ]
    )


def _team_text(ctx: Ctx) -> str:
    t = ctx.t
    now = ctx.now()
    with read_session(ctx.services.engine) as session:
        the_team = team(session, now)
    lines = [t._("Study team: {count} with access.", count=len(the_team.active))]
    lines += [_member_line(t, member) for member in the_team.active]
    if the_team.ended:
        lines.append(t._("Access ended:"))
        lines += [_member_line(t, member) for member in the_team.ended]
    if the_team.open_invites:
        lines.append(t._("Invitations not yet used:"))
        lines += [_invite_line(t, invite) for invite in the_team.open_invites]
    lines.append(
        t._(
            "To end someone's access: /staff remove S<number> reason=<why>. "
            "To revoke an invitation: /staff revoke I<number> reason=<why>."
        )
    )
    return "\n".join(lines)


def _member_line(t: Translator, member: Member) -> str:
    staff = member.staff
    role = t._(ROLE_NAMES[staff.role.value])
    joined = t.date(staff.created_at.astimezone(t.zone).date())
    accounts = _accounts(t, member)
    if staff.active:
        last = member.last_action
        return t._(
            "S{id} {role}: joined {joined}, last active {last}; {accounts}",
            id=staff.id,
            role=role,
            joined=joined,
            last=t.datetime(last) if last is not None else t._("never"),
            accounts=accounts,
        )
    ended = member.ended_at
    return t._(
        "S{id} {role}: joined {joined}, access ended {ended}; {accounts}",
        id=staff.id,
        role=role,
        joined=joined,
        ended=t.datetime(ended) if ended is not None else t._("date not recorded"),
        accounts=accounts,
    )


def _invite_line(t: Translator, invite: Invite) -> str:
    role = t._(ROLE_NAMES[invite.role.value])
    if invite.staff_id is not None:
        return t._(
            "I{id} link for S{staff} ({role}), valid until {until}",
            id=invite.id,
            staff=invite.staff_id,
            role=role,
            until=t.datetime(invite.expires_at),
        )
    return t._(
        "I{id} new {role}, valid until {until}",
        id=invite.id,
        role=role,
        until=t.datetime(invite.expires_at),
    )


# --- ending access -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RemoveRequest:
    """What Confirm stores for /staff remove."""

    staff_id: int
    reason: str


async def _propose_removal(ctx: Ctx, staff_id: int, reason: str) -> None:
    me = ctx.person.staff
    assert me is not None  # /staff is a coordinator command
    t = ctx.t
    with read_session(ctx.services.engine) as session:
        member = member_to_remove(session, staff_id, me)
    lines = [
        t._(
            "End the access of S{id} ({role})?",
            id=staff_id,
            role=t._(ROLE_NAMES[member.role.value]),
        ),
        t._("Reason: {reason}", reason=reason),
        t._(
            "From their next message the bot treats them as a stranger. What they recorded is kept."
        ),
    ]
    await propose(ctx, "staff_remove", Draft("\n".join(lines), RemoveRequest(staff_id, reason)))


def store_removal(ctx: Ctx, uow: UnitOfWork, request: RemoveRequest) -> int:
    me = ctx.person.staff
    assert me is not None
    member = end_access(uow, request.staff_id, me, request.reason)
    assert member.id is not None
    return member.id


async def after_removal(ctx: Ctx, staff_id: int) -> None:
    log.info("%s ended the access of staff %d", ctx.person.label, staff_id)
    await ctx.reply(ctx.t._("S{id}'s access has ended. What they recorded is kept.", id=staff_id))


# --- revoking an invitation ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RevokeRequest:
    """What Confirm stores for /staff revoke."""

    invite_id: int
    reason: str


async def _propose_revocation(ctx: Ctx, invite_id: int, reason: str) -> None:
    t = ctx.t
    with read_session(ctx.services.engine) as session:
        invite = invite_to_revoke(session, invite_id, ctx.now())
    lines = [
        t._("Revoke this invitation?"),
        _invite_line(t, invite),
        t._("Reason: {reason}", reason=reason),
    ]
    await propose(ctx, "invite_revoke", Draft("\n".join(lines), RevokeRequest(invite_id, reason)))


def store_revocation(ctx: Ctx, uow: UnitOfWork, request: RevokeRequest) -> int:
    invite = revoke_invite(uow, request.invite_id, request.reason)
    assert invite.id is not None
    return invite.id


async def after_revocation(ctx: Ctx, invite_id: int) -> None:
    log.info("%s revoked invitation %d", ctx.person.label, invite_id)
    await ctx.reply(
        ctx.t._("Invitation I{id} is revoked: it no longer lets anyone join.", id=invite_id)
    )


STAFF = StaffCommand("staff", STAFF_USAGE, run_staff)

FEATURE = Feature(
    "team",
    staff_commands=[STAFF],
    actions=[
        ActionSpec("staff_remove", "staff", RemoveRequest, store_removal, after_removal),
        ActionSpec("invite_revoke", "staff", RevokeRequest, store_revocation, after_revocation),
    ],
)
