"""How a patient is given their way in, on the channel they will use.

Telegram: a one-time deep link (``/start <token>``). WeChat: the same token in
a QR code the patient scans (:class:`bot.context.JoinCodes`), sent to the
coordinator as an image. Either is shown once: only the token's hash is
stored. ``/enroll ... wechat`` and ``/channel`` give them.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.context import Ctx, JoinCodeUnavailable
from bot.staff.coordinator.shared import join_link
from core.messages import N_, RuleError
from core.store.models import Channel

log = logging.getLogger(__name__)

# The channels a patient can be put on, by the words a coordinator types.
CHANNEL_WORDS: dict[str, Channel] = {
    "telegram": Channel.TELEGRAM,
    "tg": Channel.TELEGRAM,
    "wechat": Channel.WECHAT,
    "weixin": Channel.WECHAT,
    "微信": Channel.WECHAT,
}
CHANNEL_NAMES: dict[Channel, str] = {
    Channel.TELEGRAM: N_("Telegram"),
    Channel.WECHAT: N_("WeChat"),
}
NOT_A_CHANNEL = N_("{word} is not a channel: write telegram or wechat (微信).")
WECHAT_OFF = N_(
    "WeChat is not set up for this bot (the WECHAT_ settings), so no QR code can be made. "
    "Use telegram, or ask the site's IT to set WeChat up."
)


def channel_word(word: str) -> Channel | None:
    """The channel a word names, or None."""
    return CHANNEL_WORDS.get(word.casefold())


def parse_channel(ctx: Ctx, word: str) -> Channel:
    """The channel ``word`` names, refused unless the bot can invite patients on it."""
    channel = channel_word(word)
    if channel is None:
        raise RuleError(NOT_A_CHANNEL, word=word)
    if channel != Channel.TELEGRAM and channel not in ctx.services.join_codes:
        raise RuleError(WECHAT_OFF)
    return channel


def channel_name(ctx: Ctx, channel: Channel) -> str:
    return ctx.t._(CHANNEL_NAMES[channel])


async def give_invitation(
    ctx: Ctx, study_id: str, token: str, expires_at: datetime, channel: Channel
) -> None:
    """Show the coordinator the patient's one-time way in on ``channel``."""
    t = ctx.t
    codes = ctx.services.join_codes.get(channel)
    if codes is None:
        await ctx.reply(
            t._(
                "One-time join link for {study_id}, valid until {until}. It is shown only this "
                "once: give it to the patient.\n{link}",
                study_id=study_id,
                until=t.datetime(expires_at),
                link=join_link(ctx, token),
            )
        )
        return
    try:
        code = await codes.make(token, expires_at)
    except JoinCodeUnavailable:
        await ctx.reply(
            t._(
                "The WeChat QR code for {study_id} could not be made just now. Please try "
                "again with /channel {study_id} wechat.",
                study_id=study_id,
            )
        )
        return
    log.info("%s was given a QR code for %s", ctx.person.label, study_id)
    caption = t._(
        "One-time QR code for {study_id} to join on WeChat, valid until {until}. It is shown "
        "only this once: give it to the patient to scan in WeChat.",
        study_id=study_id,
        until=t.datetime(code.expires_at),
    )
    await ctx.send_file(code.image, f"{study_id}-wechat.png", caption, image=True)
