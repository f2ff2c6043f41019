"""/invite: a one-time join link for a member of staff (acts at once, no clinical data)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.context import Ctx
from bot.conversations.feature import Feature
from bot.handlers.joining import ROLE_NAMES, ROLE_WITH_ARTICLE
from bot.staff.commands import Field, StaffCommand
from bot.staff.coordinator.shared import join_link, log
from core.messages import N_, RuleError
from core.store.invites import create_invite
from core.store.services import invite_by_token
from core.vocabulary import Role, role_from_word

INVITE_USAGE = N_("/invite <nurse|investigator|coordinator>  e.g. /invite nurse")


def parse_invite_role(args: Sequence[str]) -> Role:
    role = role_from_word(args[0]) if len(args) == 1 else None
    if role is None:
        raise RuleError(
            N_(
                "Name one role: nurse (护士), investigator (研究者) or coordinator (协调员). "
                "Patients get their link from /enroll."
            )
        )
    return role


async def run_invite(ctx: Ctx, args: list[str]) -> None:
    """A one-time staff join link, valid 7 days (no clinical data: no Confirm)."""
    role = parse_invite_role(args)
    with ctx.uow() as uow:
        token = create_invite(uow, role)
        invite = invite_by_token(uow.session, token)
        assert invite is not None
        expires = invite.expires_at
    log.info("%s made a %s invite", ctx.person.label, role.value)
    await ctx.reply(
        ctx.t._(
            "One-time join link for {role}, valid until {until}. It is shown only this "
            "once:\n{link}",
            role=ctx.t._(ROLE_WITH_ARTICLE[role.value]),
            until=ctx.t.datetime(expires),
            link=join_link(ctx, token),
        )
    )


def _role_choices(ctx: Ctx) -> list[tuple[str, str]]:
    return [(ctx.t._(ROLE_NAMES[role]), role) for role in ROLE_NAMES]


INVITE = StaffCommand(
    "invite",
    INVITE_USAGE,
    run_invite,
    fields=(Field("role", N_("Which role is the join link for?"), choices=_role_choices),),
)


FEATURE = Feature(
    "staff invitations",
    staff_commands=[INVITE],
)
