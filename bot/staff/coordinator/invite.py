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
from core.store.models import Channel
from core.store.services import invite_by_token
from core.vocabulary import Role, role_from_word

INVITE_USAGE = N_(
    "/invite <nurse|investigator|coordinator> [wecom]  e.g. /invite nurse, /invite nurse wecom"
)
STAFF_CHANNEL_WORDS = {
    "telegram": Channel.TELEGRAM,
    "tg": Channel.TELEGRAM,
    "wecom": Channel.WECOM,
    "企业微信": Channel.WECOM,
    "企微": Channel.WECOM,
}
WECOM_OFF = N_(
    "WeCom is not set up for this bot (the WECOM_ settings), so no WeCom code can be made. "
    "Invite on Telegram, or ask the site's IT to set WeCom up."
)


def parse_invite_role(args: Sequence[str]) -> Role:
    role = role_from_word(args[0]) if 1 <= len(args) <= 2 else None
    if role is None:
        raise RuleError(
            N_(
                "Name one role: nurse (护士), investigator (研究者) or coordinator (协调员). "
                "Patients get their link from /enroll."
            )
        )
    return role


def parse_staff_channel(ctx: Ctx, args: Sequence[str]) -> Channel:
    """The channel after the role (Telegram when none), refused unless staff can join on it."""
    if len(args) < 2:
        return Channel.TELEGRAM
    channel = STAFF_CHANNEL_WORDS.get(args[1].casefold())
    if channel is None:
        raise RuleError(
            N_("{word} is not a channel for staff: write telegram or wecom (企业微信)."),
            word=args[1],
        )
    if channel != Channel.TELEGRAM and channel not in ctx.services.staff_channels:
        raise RuleError(WECOM_OFF)
    return channel


async def run_invite(ctx: Ctx, args: list[str]) -> None:
    """A one-time staff join link (or, for WeCom, a code to send to the app), valid 7 days
    (no clinical data: no Confirm)."""
    role = parse_invite_role(args)
    channel = parse_staff_channel(ctx, args)
    with ctx.uow() as uow:
        token = create_invite(uow, role)
        invite = invite_by_token(uow.session, token)
        assert invite is not None
        expires = invite.expires_at
    log.info("%s made a %s invite (%s)", ctx.person.label, role.value, channel.value)
    if channel == Channel.WECOM:
        await ctx.reply(
            ctx.t._(
                "One-time code for {role} to join on WeCom, valid until {until}. It is shown "
                "only this once: they send it, as it is, to the trial's application in WeCom.",
                role=ctx.t._(ROLE_WITH_ARTICLE[role.value]),
                until=ctx.t.datetime(expires),
            )
        )
        # The code alone, so that forwarding or copying it takes nothing else.
        await ctx.reply(token)
        return
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
