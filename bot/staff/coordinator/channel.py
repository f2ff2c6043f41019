"""/channel: move a patient's reminders to WeChat or back to Telegram (acts at once).

A patient who already has an account on the channel named is reached there
from now on: every reminder, message and alert reads the preferred channel
when it is sent (:func:`core.store.identities.reach_of`), so the next one
goes there. A patient without one gets a one-time way in (a QR code for
WeChat, a link for Telegram) and keeps being reached where they are until
they use it: joining makes the new channel the preferred one. No clinical
data changes, so there is no Confirm; the change is audited.
"""

from __future__ import annotations

from datetime import datetime

from bot.context import Ctx
from bot.conversations.feature import Feature
from bot.staff.commands import Field, StaffCommand, patient_choices
from bot.staff.coordinator.joins import (
    CHANNEL_NAMES,
    channel_name,
    give_invitation,
    parse_channel,
)
from bot.staff.coordinator.shared import active_patient, log
from core.enrollment import check_study_id
from core.messages import N_, RuleError
from core.store.identities import prefer_channel
from core.store.invites import create_invite
from core.store.models import Channel, InviteRole
from core.store.services import invite_by_token

CHANNEL_USAGE = N_("/channel <study ID> <telegram|wechat>  e.g. /channel P05 wechat")


async def run_channel(ctx: Ctx, args: list[str]) -> None:
    if len(args) != 2:
        raise RuleError(N_("/channel takes a study ID and a channel: telegram or wechat."))
    study_id = check_study_id(args[0])
    channel = parse_channel(ctx, args[1])
    token: str | None = None
    expires_at: datetime | None = None
    with ctx.uow("the patient's channel changed") as uow:
        patient = active_patient(uow.session, study_id)
        study_id, before = patient.study_id, patient.preferred_channel
        moved = before != channel and prefer_channel(uow, patient, channel)
        if before != channel and not moved:
            token = create_invite(uow, InviteRole.PATIENT, patient=patient)
            invite = invite_by_token(uow.session, token)
            assert invite is not None
            expires_at = invite.expires_at
    t = ctx.t
    name = channel_name(ctx, channel)
    if before == channel:
        await ctx.reply(
            t._("{study_id}'s reminders already go to {channel}.", study_id=study_id, channel=name)
        )
        return
    if moved:
        log.info("%s moved %s to %s", ctx.person.label, study_id, channel.value)
        await ctx.reply(
            t._(
                "{study_id}'s reminders and messages now go to {channel}.",
                study_id=study_id,
                channel=name,
            )
        )
        return
    assert token is not None
    assert expires_at is not None
    await give_invitation(ctx, study_id, token, expires_at, channel)
    if before is not None:
        await ctx.reply(
            t._(
                "{study_id} has not joined on {channel} yet: their reminders keep going to "
                "{current} until they do.",
                study_id=study_id,
                channel=name,
                current=channel_name(ctx, before),
            )
        )


def _channel_choices(ctx: Ctx) -> list[tuple[str, str]]:
    offered = [Channel.TELEGRAM, *ctx.services.join_codes]
    return [(ctx.t._(CHANNEL_NAMES[c]), c.value) for c in CHANNEL_NAMES if c in offered]


CHANNEL = StaffCommand(
    "channel",
    CHANNEL_USAGE,
    run_channel,
    fields=(
        Field("study_id", N_("Which patient?"), choices=patient_choices),
        Field("channel", N_("Where should their reminders go?"), choices=_channel_choices),
    ),
)


FEATURE = Feature(
    "patients' channels",
    staff_commands=[CHANNEL],
)
