"""Every staff command, the same on Telegram and on WeCom: one case per command, played by a
coordinator on each channel in the same trial, and what each reads compared.

Both coordinators write in Chinese. On Telegram what the member reads is every message's
text (a picture's or a file's caption) and the labels of its buttons; on WeCom every text
message, each card's title and body (unless the text came first as a message of its own)
and its buttons' texts. Join tokens and adverse-event numbers differ between two runs of a
command that acts at once, so they are masked.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from core.store.models import InviteRole
from tests.conversations.test_bot_coordinator import add_adverse_event
from tests.support.bot_harness import World
from tests.support.status_seed import NOW, open_report
from tests.support.wecom_world import WecomWorld

pytestmark = [pytest.mark.e2e]

LABS = (
    "labs P01 w0 protein=4.2g/24h rbc=40/hpf wbc=12/hpf casts=rbc alb=2.4g/dL scr=0.90mg/dL "
    "date=2026-12-01"
)
# command: (as typed on Telegram, as typed on WeCom)
CASES = {
    "enroll": (
        "/enroll P09 belimumab_mt 2026-12-01 F 62kg zh born=1984 consent=2026-11-28",
        "enroll P09 belimumab_mt 2026-12-01 F 62kg zh 出生=1984 知情同意=2026-11-28",
    ),
    "invite": ("/invite nurse", "invite nurse"),
    "withdraw": ("/withdraw P02 consent withdrawn", "/withdraw P02 consent withdrawn"),
    "reschedule": ("/reschedule P01 infusion 1 2026-12-16", "reschedule P01 infusion 1 2026-12-16"),
    "ack": ("/ack AE12", "ack AE13"),
    "status": ("/status", "status"),
    "ae": (
        "/ae P01 肺部感染 G3 serious=住院 onset=2026-12-14",
        "ae P01 肺部感染 G3 serious=住院 onset=2026-12-14",
    ),
    "labs": ("/" + LABS, LABS),
    "dose": ("/dose P01 mmf 1g", "dose P01 mmf 1g"),
    "weight": ("/weight P01 61.5kg", "weight P01 61.5kg"),
    "sledai": ("/sledai P01 w0 proteinuria haematuria", "sledai P01 w0 proteinuria haematuria"),
    "cd20": ("/cd20 P01 w0 120/uL date=2026-12-01", "cd20 P01 w0 120/uL date=2026-12-01"),
    "reports": ("/reports", "reports"),
    "triage": ("/triage R1 close seen at the visit", "/triage R2 close seen at the visit"),
    "summary": ("/summary", "summary"),
    "plot": ("/plot proteinuria", "plot proteinuria"),
    "export": ("/export", "export"),
    "guided": ("/weight", "weight"),
}
_MASKS = [
    (re.compile(r"[A-Za-z0-9_-]{30,}"), "<token>"),
    (re.compile(r"\bAE1[23]\b"), "AE<n>"),
    (re.compile(r"\bR[12]\b"), "R<n>"),
]


def _masked(text: str) -> str:
    for pattern, mask in _MASKS:
        text = pattern.sub(mask, text)
    return text.strip()


async def _on_telegram(world: World, user: int, text: str) -> list[str]:
    """What a Telegram member reads in answer to ``text``: texts, captions, button labels."""
    mark = len(world.api.messages_to(user))
    await world.api.user_sends(user, text)
    # Updates are handled in order: once /help is answered, ``text`` has been answered in full.
    await world.api.user_sends(user, "/help")
    await world.api.wait_until(
        lambda: any(m.shown.startswith(HELP[0]) for m in world.api.messages_to(user)[mark:]),
        timeout=30,
    )
    read: list[str] = []
    for message in world.api.messages_to(user)[mark:]:
        if message.shown.startswith(HELP[0]):
            break
        shown = message.visible_caption if message.visible_caption is not None else message.shown
        read += [line for line in (shown or "").splitlines() if line.strip()]
        read += [f"[{b.text}]" for b in message.buttons()]
    return [_masked(line) for line in read]


async def _on_wecom(wc: WecomWorld, userid: str, text: str) -> list[str]:
    read: list[str] = []
    for message in await wc.write(userid, text):
        body = message.body
        if body["msgtype"] == "text":
            read += [line for line in body["text"]["content"].splitlines() if line.strip()]
        elif body["msgtype"] == "template_card":
            card = body["template_card"]
            title = card["main_title"]["title"]
            if not read or not read[0].startswith(title.rstrip("…")):
                read.append(title)
                read += [
                    line for line in card.get("sub_title_text", "").splitlines() if line.strip()
                ]
            read += [f"[{b['text']}]" for b in card["button_list"]]
    return [_masked(line) for line in read]


HELP: list[str] = []


@pytest.mark.parametrize("command", list(CASES))
async def test_a_staff_command_reads_the_same_on_telegram_and_on_wecom(
    wc: WecomWorld, command: str
) -> None:
    world = wc.tg
    world.clock.set(NOW)
    world.enroll("P01", day0=date(2026, 12, 1))
    world.enroll("P02", day0=date(2026, 12, 3))
    add_adverse_event(world, 12, serious=True, hours_ago=2)
    add_adverse_event(world, 13, serious=True, hours_ago=2)
    open_report(world, "P01")
    open_report(world, "P01")
    on_telegram = await world.join_staff(InviteRole.COORDINATOR, "zh-hans")
    on_wecom = await wc.join(InviteRole.COORDINATOR, "chen.coord")
    help_answer = await world.say(on_telegram, "/help")
    HELP[:] = [help_answer.shown]

    typed_on_telegram, typed_on_wecom = CASES[command]
    telegram = await _on_telegram(world, on_telegram, typed_on_telegram)
    wecom = await _on_wecom(wc, on_wecom, typed_on_wecom)
    assert telegram, f"no answer on Telegram to {typed_on_telegram}"
    assert wecom == telegram
