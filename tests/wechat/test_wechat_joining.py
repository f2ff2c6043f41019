"""Joining on WeChat, end to end: ``/enroll ... wechat`` on Telegram gives the coordinator a
QR code; the patient scans it in WeChat (the local WeChat server pushes ``subscribe`` with
the scene, or ``SCAN`` for a follower) and joins as on Telegram; a used or expired code,
or a staff invitation, is refused in the person's language and stores nothing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.channels.wechat.join_codes import JOIN_SCENE, qr_png
from core.store.db import read_session
from core.store.models import Channel, ChannelIdentity, Invite, InviteRole, Patient, Staff
from tests.support.bot_harness import World
from tests.support.db_state import changed_tables, snapshot
from tests.support.wechat_world import WechatWorld, labels, shown

LANGS = pytest.mark.parametrize("lang", ["en", "zh"])
TG_LANGUAGE = {"en": "en", "zh": "zh-hans"}
WX_LANGUAGE = {"en": "en", "zh": "zh_CN"}
CHOICE = {"en": "English", "zh": "中文"}
ENROLL = "/enroll P05 belimumab_mt 2026-12-01 F 55kg zh born=1988 consent=2026-11-28 wechat"

ASK_LANGUAGE = "请选择语言。\nPlease choose your language."
JOINED = {
    "en": ["Language set: English.", "About your data:", "Your next study events:"],
    "zh": ["语言已设为：中文。", "关于您的数据：", "您接下来的研究安排："],
}
USED = {
    "en": "This QR code has already been used. Ask the study team for a new one if you need it.",
    "zh": "此二维码已被使用。如有需要，请向研究团队索取新的二维码。",
}
EXPIRED = {
    "en": "This QR code has expired. Please ask the study team for a new one.",
    "zh": "此二维码已过期。请向研究团队索取新的二维码。",
}
STRANGER = {
    "en": "scan the QR code the study team gave you.",
    "zh": "请扫描研究团队给您的二维码。",
}
STAFF_REFUSED = {
    "en": "Here the bot serves the study's patients only. Study staff join on Telegram or on "
    "the hospital's WeCom: please use your invitation there.",
    "zh": "此处仅为本研究的受试者提供服务。研究人员请在 Telegram 或医院的企业微信中加入：请在那里使用您的邀请。",
}

REFUSED = {
    "en": "/{command} is not available to you. /help lists what you can do.",
    "zh": "您不能使用 /{command}。/help 列出您可以做的事。",
}


def wechat_accounts(world: World) -> list[ChannelIdentity]:
    with read_session(world.services.engine) as session:
        return list(
            session.exec(select(ChannelIdentity).where(ChannelIdentity.channel == Channel.WECHAT))
        )


async def confirm(world: World, user: int, summary_id: int, data: list[str]) -> None:
    ok = next(d for d in data if d.endswith(":ok"))
    await world.api.user_presses(user, summary_id, ok)


@LANGS
async def test_enroll_on_wechat_gives_a_qr_code_that_joins_the_patient(
    wx: WechatWorld, lang: str
) -> None:
    world = wx.tg
    coordinator = await world.join_staff(InviteRole.COORDINATOR, TG_LANGUAGE[lang])
    summary = await world.say(coordinator, ENROLL)
    assert ("Joins on: WeChat" if lang == "en" else "加入渠道：微信") in summary.shown
    await confirm(world, coordinator, summary.message_id, summary.callback_data())
    enrolled = await world.reply(coordinator)
    assert "P05" in enrolled.shown
    photo = await world.reply(coordinator)

    # The QR code: a temporary string-scene code whose scene carries the join token,
    # drawn from the URL WeChat returned, and valid as long as the invitation.
    (code,) = wx.wechat.world.qr_codes.values()
    assert code.scene.startswith(JOIN_SCENE)
    assert photo.photo is not None and photo.photo.data == qr_png(code.url)
    assert photo.visible_caption is not None
    assert photo.visible_caption.startswith(
        "One-time QR code for P05 to join on WeChat, valid until"
        if lang == "en"
        else "P05 通过微信加入的一次性二维码，有效期至"
    )
    (created,) = [r for r in wx.wechat.requests if r.method == "createQRCode"]
    assert created.body is not None and created.body["action_name"] == "QR_STR_SCENE"
    assert created.body["expire_seconds"] == 7 * 24 * 3600  # the invitation's own 7 days
    token = code.scene.removeprefix(JOIN_SCENE)
    everything = repr(snapshot(world.services.engine, skip=frozenset()))
    assert token not in everything  # only the token's hash is stored

    openid = wx.user(WX_LANGUAGE[lang])
    ask = await wx.act(openid, wx.wechat.patients.scan(openid, ticket=code.ticket))
    assert [shown(m) for m in ask] == [f"{ASK_LANGUAGE}\n中文\nEnglish"]
    assert labels(ask[0]) == ["中文", "English"]
    welcome = await wx.choose(openid, CHOICE[lang])
    assert [
        shown(m).split("\n")[0][: len(t)] for m, t in zip(welcome, JOINED[lang], strict=True)
    ] == (JOINED[lang])
    patient = world.patient("P05")
    assert patient.preferred_channel == Channel.WECHAT
    assert wx.openid_of(patient) == openid
    assert patient.language.value == ("en" if lang == "en" else "zh_Hans")


@LANGS
async def test_a_follower_joins_by_scanning_and_a_stranger_learns_how(
    wx: WechatWorld, lang: str
) -> None:
    wx.tg.enroll("P06")
    openid = wx.user(WX_LANGUAGE[lang])
    followed = await wx.act(openid, wx.wechat.patients.follow(openid))
    assert len(followed) == 1 and STRANGER[lang] in shown(followed[0])
    assert wechat_accounts(wx.tg) == []

    token = wx.tg.invite(InviteRole.PATIENT, wx.tg.patient("P06"))
    expires = wx.services.clock.now() + timedelta(days=7)
    await wx.services.join_codes[Channel.WECHAT].make(token, expires)
    ask = await wx.act(openid, wx.wechat.patients.scan(openid, scene=JOIN_SCENE + token))
    assert [r.kind for r in wx.wechat.pusher.records][-1] == "SCAN"
    assert labels(ask[0]) == ["中文", "English"]
    assert wx.openid_of(wx.tg.patient("P06")) == openid


@LANGS
async def test_a_used_or_expired_qr_code_is_refused_and_stores_nothing(
    wx: WechatWorld, lang: str
) -> None:
    world = wx.tg
    world.enroll("P07")
    world.enroll("P08")
    codes = wx.services.join_codes[Channel.WECHAT]
    token = world.invite(InviteRole.PATIENT, world.patient("P07"))
    late = world.invite(InviteRole.PATIENT, world.patient("P08"))
    for each in (token, late):
        await codes.make(each, wx.services.clock.now() + timedelta(days=7))
    first = wx.user()
    await wx.act(first, wx.wechat.patients.scan(first, scene=JOIN_SCENE + token))

    second = wx.user(WX_LANGUAGE[lang])
    before = snapshot(world.services.engine)
    refused = await wx.act(second, wx.wechat.patients.scan(second, scene=JOIN_SCENE + token))
    assert [shown(m) for m in refused] == [USED[lang]]

    world.clock.advance(timedelta(days=8))  # the invitation expires; WeChat's code lives on
    third = wx.user(WX_LANGUAGE[lang])
    refused = await wx.act(third, wx.wechat.patients.scan(third, scene=JOIN_SCENE + late))
    assert [shown(m) for m in refused] == [EXPIRED[lang]]
    # Only the stored pushes themselves changed: no account, no invitation used.
    assert set(changed_tables(before, snapshot(world.services.engine))) == {"wechat_push"}
    assert [a.account for a in wechat_accounts(world)] == [first]
    with read_session(world.services.engine) as session:
        used = [i.used_by for i in session.exec(select(Invite)) if i.used_at is not None]
    assert used == [f"wechat:{first}"]


@LANGS
async def test_staff_cannot_join_or_use_staff_commands_on_wechat(
    wx: WechatWorld, lang: str
) -> None:
    world = wx.tg
    token = world.invite(InviteRole.COORDINATOR)
    stranger = wx.user(WX_LANGUAGE[lang])
    await wx.act(stranger, wx.wechat.patients.follow(stranger))
    refused = await wx.write(stranger, f"/start {token}")
    assert [shown(m) for m in refused] == [STAFF_REFUSED[lang]]
    with read_session(world.services.engine) as session:
        assert session.exec(select(Staff)).all() == []

    world.enroll("P09", language="en" if lang == "en" else "zh_Hans")
    patient_token = world.invite(InviteRole.PATIENT, world.patient("P09"))
    await wx.services.join_codes[Channel.WECHAT].make(
        patient_token, wx.services.clock.now() + timedelta(days=7)
    )
    await wx.act(stranger, wx.wechat.patients.scan(stranger, scene=JOIN_SCENE + patient_token))
    await wx.choose(stranger, CHOICE[lang])
    for command in ("status", "enroll", "channel"):
        answer = await wx.write(stranger, f"/{command} P09")
        assert [shown(m) for m in answer] == [REFUSED[lang].format(command=command)]
    with read_session(world.services.engine) as session:
        assert session.exec(select(Patient)).one().preferred_channel == Channel.WECHAT


WECHAT_OFF = {
    "en": "WeChat is not set up for this bot (the WECHAT_ settings), so no QR code can be made.",
    "zh": "本机器人尚未设置微信（WECHAT_ 系列设置），无法生成二维码。",
}


@LANGS
async def test_without_wechat_enrolling_on_it_is_refused(world: World, lang: str) -> None:
    coordinator = await world.join_staff(InviteRole.COORDINATOR, TG_LANGUAGE[lang])
    answer = await world.say(coordinator, ENROLL)
    assert answer.shown.startswith(WECHAT_OFF[lang])
    assert not answer.buttons()
    with read_session(world.services.engine) as session:
        assert session.exec(select(Patient)).all() == []
