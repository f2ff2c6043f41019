"""/channel, end to end: a coordinator moves a patient between Telegram and WeChat, and the
next reminder the router sends goes to the new channel at once. A patient not yet on WeChat
gets a new QR code and stays on Telegram until they scan it.

The WeChat reminder itself (a template message) is another part's; here the router's WeChat
transport is a recording one, which shows the router chose it.
"""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from bot.conversations.events import MessageRef, Reply, Text
from core.store.db import read_session
from core.store.models import Channel, InviteRole, Reminder, ReminderStatus
from tests.support.bot_harness import World
from tests.support.wechat_world import WechatWorld

LANGS = pytest.mark.parametrize("lang", ["en", "zh"])
TG_LANGUAGE = {"en": "en", "zh": "zh-hans"}
TEXTS = {
    "en": {
        "not_yet": "P05 has not joined on WeChat yet: their reminders keep going to Telegram "
        "until they do.",
        "qr": "One-time QR code for P05 to join on WeChat, valid until",
        "to_telegram": "P05's reminders and messages now go to Telegram.",
        "to_wechat": "P05's reminders and messages now go to WeChat.",
        "already": "P05's reminders already go to WeChat.",
        "bad_word": "signal is not a channel: write telegram or wechat (微信).",
    },
    "zh": {
        "not_yet": "P05 尚未在新渠道（微信）加入：在加入之前，提醒仍通过原渠道（Telegram）发送。",
        "qr": "P05 通过微信加入的一次性二维码，有效期至",
        "to_telegram": "P05 的提醒和消息现已改为通过此渠道发送：Telegram。",
        "to_wechat": "P05 的提醒和消息现已改为通过此渠道发送：微信。",
        "already": "P05 的提醒本来就通过此渠道发送：微信。",
        "bad_word": "signal 不是渠道：请填写 telegram 或 wechat（微信）。",
    },
}


class RecordingTransport:
    """The router's WeChat transport in this test: it keeps what it was given."""

    def __init__(self) -> None:
        self.delivered: list[tuple[str, Reply]] = []

    async def deliver(self, chat: str, reply: Reply) -> MessageRef:
        self.delivered.append((chat, reply))
        return MessageRef(chat, str(len(self.delivered)))


def a_pending_reminder(world: World) -> int:
    with read_session(world.services.engine) as session:
        reminder_id = session.exec(
            select(Reminder.id)
            .where(Reminder.status == ReminderStatus.PENDING)
            .order_by(col(Reminder.due_at))
        ).first()
    assert reminder_id is not None
    return reminder_id


@LANGS
async def test_channel_moves_the_reminders_both_ways_at_once(wx: WechatWorld, lang: str) -> None:
    world = wx.tg
    texts = TEXTS[lang]
    router = world.services.router
    assert router is not None
    recording = RecordingTransport()
    router.transports[Channel.WECHAT] = recording
    coordinator = await world.join_staff(InviteRole.COORDINATOR, TG_LANGUAGE[lang])
    world.enroll("P05")
    tg_patient = await world.join_patient("P05")
    reminder = a_pending_reminder(world)

    # Not on WeChat yet: a new QR code, and the reminders stay on Telegram.
    photo = await world.say(coordinator, "/channel P05 wechat")
    assert photo.visible_caption is not None and photo.visible_caption.startswith(texts["qr"])
    assert (await world.reply(coordinator)).shown == texts["not_yet"]
    await router.send(reminder, repeat=False)
    assert (await world.reply(tg_patient)).shown and recording.delivered == []

    # The patient scans it: joined on WeChat, and the next reminder goes there.
    code = list(wx.wechat.world.qr_codes.values())[-1]
    openid = wx.user()
    await wx.act(openid, wx.wechat.patients.scan(openid, ticket=code.ticket))
    await wx.choose(openid, "English")
    assert world.patient("P05").preferred_channel == Channel.WECHAT
    await router.send(reminder, repeat=False)
    assert [chat for chat, _ in recording.delivered] == [openid]
    assert isinstance(recording.delivered[0][1], Text)

    # Back to Telegram, and to WeChat again: both accounts are kept, nothing to scan.
    assert (await world.say(coordinator, "/channel P05 telegram")).shown == texts["to_telegram"]
    await router.send(reminder, repeat=False)
    assert (await world.reply(tg_patient)).shown and len(recording.delivered) == 1
    assert (await world.say(coordinator, "/channel P05 微信")).shown == texts["to_wechat"]
    await router.send(reminder, repeat=False)
    assert [chat for chat, _ in recording.delivered] == [openid, openid]
    assert (await world.say(coordinator, "/channel p05 wechat")).shown == texts["already"]
    assert len(wx.wechat.world.qr_codes) == 1  # no QR code once the patient has WeChat


@LANGS
async def test_channel_refusals_say_what_was_expected(wx: WechatWorld, lang: str) -> None:
    world = wx.tg
    coordinator = await world.join_staff(InviteRole.COORDINATOR, TG_LANGUAGE[lang])
    world.enroll("P05")
    answer = await world.say(coordinator, "/channel P05 signal")
    assert answer.shown.startswith(TEXTS[lang]["bad_word"])
    assert "/channel P05 wechat" in answer.shown  # the usage
    assert world.patient("P05").preferred_channel is None
