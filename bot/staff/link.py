"""/link: one member of staff on two channels (Telegram and the hospital's WeCom).

A member who has joined asks for a one-time code (WeCom) or link (Telegram)
that adds their account on the other channel to their own place in the study
team: the same role, the same records, one member. Their alerts go to the
channel they linked last. Acts at once (no clinical data: no Confirm).
"""

from __future__ import annotations

from bot.context import Ctx
from bot.conversations.feature import Feature
from bot.staff.commands import Field, StaffCommand
from bot.staff.coordinator.invite import parse_staff_channel
from bot.staff.coordinator.shared import join_link, log
from bot.texts import CHANNEL_NAMES
from core.messages import N_, RuleError
from core.store.identities import account_on
from core.store.invites import create_invite
from core.store.models import Channel, InviteRole
from core.store.services import invite_by_token

LINK_USAGE = N_("/link <telegram|wecom>  e.g. /link wecom")


async def run_link(ctx: Ctx, args: list[str]) -> None:
    if len(args) != 1:
        raise RuleError(LINK_USAGE)
    channel = parse_staff_channel(ctx, ["", args[0]])
    staff = ctx.person.staff
    assert staff is not None  # /link is a staff command
    with ctx.uow() as uow:
        if account_on(uow.session, staff, channel) is not None:
            raise RuleError(
                N_("You already use the bot on {channel}."),
                channel=ctx.t._(CHANNEL_NAMES[channel]),
            )
        token = create_invite(uow, InviteRole(staff.role.value), staff=staff)
        invite = invite_by_token(uow.session, token)
        assert invite is not None
        expires = invite.expires_at
    log.info("%s asked to link an account on %s", ctx.person.label, channel.value)
    if channel == Channel.WECOM:
        await ctx.reply(
            ctx.t._(
                "One-time code to use the bot on WeCom as yourself, valid until {until}. Send "
                "it, as it is, to the trial's application in WeCom:",
                until=ctx.t.datetime(expires),
            )
        )
        await ctx.reply(token)
        return
    await ctx.reply(
        ctx.t._(
            "One-time link to use the bot on Telegram as yourself, valid until {until}. Open "
            "it in Telegram:\n{link}",
            until=ctx.t.datetime(expires),
            link=join_link(ctx, token),
        )
    )


def _channels(ctx: Ctx) -> list[tuple[str, str]]:
    return [
        (ctx.t._(CHANNEL_NAMES[Channel.TELEGRAM]), "telegram"),
        *((ctx.t._(CHANNEL_NAMES[c]), c.value) for c in ctx.services.staff_channels),
    ]


LINK = StaffCommand(
    "link",
    LINK_USAGE,
    run_link,
    fields=(Field("channel", N_("Which channel do you want to use as well?"), choices=_channels),),
)

FEATURE = Feature("one member on two channels", staff_commands=[LINK])
