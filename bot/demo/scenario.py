"""``make demo``: the real bot, a scripted trial, 24 trial weeks in about two minutes.

The demo runs ``python -m bot run`` on its rehearsal clock against
the embedded local Bot API server (in this process) and the local WeChat
server (a child process, :mod:`bot.demo.wechat`) with a SQLite database in
a temporary folder, and plays a trial: a coordinator and a nurse join by
invitation; four patients are enrolled on Telegram (two per arm, two in
Chinese, two in English) and join; a fifth, P05, is enrolled on WeChat and
joins by scanning the QR code the coordinator got; the weeks pass; reminders
reach the patients, who press their buttons (P02 once asks for another day,
P04 reports a red flag), and P05's template messages, which P05 answers on
the page each one links to; the
nurse logs a serious adverse event by one message and the coordinator
acknowledges it; the nurse records the belimumab infusions given (``/dose``, then
Confirm: the export's EX domain and the swimmer plot show them); labs are
entered; ``/status``, ``/summary``, two plots and
``/export`` run. Everyone acts through the local server exactly as a Telegram
user would; nothing is written to the database behind the bot's back except
the first coordinator's invitation (as ``python -m bot invite`` would).

The bot runs in stretches, restarted with ``--resume`` between them: slow
(600 times real time) while people type and press Confirm (a Confirm button
is valid for two trial hours), fast (240,000 times: a trial day in 0.36 s)
while the weeks pass. The transcript is stamped with trial time read from
the bot's own clock (the stretch it keeps in ``--clock-file``: it holds trial
time at each reminder due and slows it while sending, so reminders arrive on time
even at this speed).

Who takes part and what they type is :mod:`bot.demo.cast`; the bot process and
its trial time are :mod:`bot.demo.process`; here is the driver that plays it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TextIO

from bot.channels.wechat.callback import CALLBACK_PATH
from bot.channels.wecom.callback import CALLBACK_PATH as WECOM_CALLBACK_PATH
from bot.channels.wecom.pacing import PER_MINUTE as WECOM_PER_MINUTE
from bot.demo.cast import (
    BASELINE_LABS,
    BELIMUMAB_PATIENTS,
    CONSENT,
    COORDINATOR,
    DAY0,
    ENROLMENT,
    FINAL_LABS,
    FIRST_INFUSION,
    NURSE,
    P02,
    P04,
    P05,
    PEOPLE,
    SHANGHAI,
    T0,
    TELEGRAM_PATIENTS,
    Script,
)
from bot.demo.process import BotProcess, DemoError, TrialClock
from bot.demo.transcript import Person, Transcript
from bot.demo.wechat import (
    WANTED,
    LocalServer,
    Phone,
    bot_env,
    free_port,
    wechat_args,
    wecom_args,
)
from bot.demo.wechat import shown as wechat_shown
from bot.i18n import Translator
from core.protocol import load_protocol
from core.store.db import make_engine, read_session
from core.store.invites import create_invite
from core.store.migrate import migrate
from core.store.models import InviteRole, Reminder
from core.store.uow import UnitOfWork
from local_servers.telegram.server import ControlError, LocalBotApi, SentMessage

SLOW = 600.0  # while people type: ten trial minutes per real second
FAST = 240_000.0  # while the weeks pass: 24 weeks in about a minute
STEP_TIMEOUT = 30.0  # real seconds to wait for one reply of the bot
LATE = timedelta(hours=1)  # a reminder later than this after its time is marked in the transcript
# WeCom messages one command of the nurse's and its answers may take (preview, card, result,
# follow-ups): room kept in WeCom's per-minute window before she sends it.
WECOM_ROOM = 8

_LINK = re.compile(r"start=([A-Za-z0-9_-]+)")
_AE_ID = re.compile(r"AE(\d+)")
# The msgid of /summary's first line: the driver waits for its translated start.
SUMMARY_HEADING = (
    "Trial summary on {date}: endpoints at week {week}; exact (Clopper-Pearson) confidence "
    "intervals at {level}%, median and IQR by linear interpolation (Hyndman-Fan type 7)."
)


def _has_button(prefix: str, suffix: str = "") -> Callable[[SentMessage], bool]:
    def check(message: SentMessage) -> bool:
        return any(d.startswith(prefix) and d.endswith(suffix) for d in message.callback_data())

    return check


def _shown(message: SentMessage) -> str:
    if message.photo is not None:
        return f"[picture] {message.shown}"
    if message.document is not None:
        return f"[file {message.document.file_name}] {message.shown}"
    return message.shown


@dataclass
class Demo:
    api: LocalBotApi
    clock: TrialClock
    transcript: Transcript
    bot: BotProcess
    output: Path
    script: Script
    phone: Phone
    office: Phone  # WeCom, on the nurse's phone
    by_chat: dict[int, Person] = field(default_factory=dict)
    asked_for_another_day: bool = False
    presses: int = 0
    page_answers: int = 0
    # WeChat messages to P05 the script has read (the control interface counts from 0).
    wechat_read: int = 0
    wecom_read: int = 0
    # When (real monotonic seconds) each WeCom message to the nurse arrived.
    wecom_stamps: list[float] = field(default_factory=list)
    templates_answered: int = 0

    # --- acting ---------------------------------------------------------------------------

    async def human_pace(self, person: Person, answers: int) -> None:
        """Act only once the bot may answer with ``answers`` messages within Telegram's
        flood limits: a person reads before typing, a script would not."""
        while True:
            have = self.api.send_allowance(person.chat_id)
            if have >= answers:
                return
            await asyncio.sleep(0.01)  # the limits run in trial time: a moment of real time

    async def wecom_room(self) -> None:
        """Wait (real time) until the last real minute of WeCom messages to the nurse leaves
        room for a command's answers. WeCom counts 30 a minute to one member and drops the
        rest (bot.channels.wecom.pacing); the bot's pacer keeps to that within one process,
        but the demo restarts the bot between stretches and a new process starts afresh."""
        while True:
            now = time.monotonic()
            recent = [at for at in self.wecom_stamps if at > now - 60.0]
            if len(recent) <= WECOM_PER_MINUTE - WECOM_ROOM:
                return
            await asyncio.sleep(recent[0] + 60.0 - now + 0.1)

    async def send(self, person: Person, text: str, answers: int = 2) -> None:
        self.bot.check_running()
        if person.userid is not None:
            await self.wecom_room()
            self.transcript.user(person, text, self.clock.now())
            await self.office.call("POST", "text", {"userid": person.userid, "content": text})
            return
        await self.human_pace(person, answers)
        self.transcript.user(person, text, self.clock.now())
        await self.api.user_sends(person.chat_id, text)

    async def press(
        self, person: Person, message: SentMessage, data: str, answers: int = 3
    ) -> None:
        await self.human_pace(person, answers)
        label = next(b.text for b in message.buttons() if b.callback_data == data)
        self.transcript.press(person, label, self.clock.now())
        await self.api.user_presses(person.chat_id, message.message_id, data)

    async def expect(
        self,
        person: Person,
        what: str,
        predicate: Callable[[SentMessage], bool] | None = None,
        *,
        contains: str | None = None,
    ) -> SentMessage:
        if person.userid is not None:
            raise DemoError("a WeCom member's messages are read with wecom_expect")
        try:
            return await self.api.wait_for_message(
                person.chat_id, predicate, STEP_TIMEOUT, contains=contains
            )
        except TimeoutError as exc:
            self.bot.check_running()
            raise DemoError(f"{person.label} never got {what}:\n{exc}") from None

    async def confirm(self, person: Person, what: str) -> None:
        """The sender reads what the bot understood and presses Confirm."""
        if person.userid is not None:
            card = await self.wecom_expect(person, f"the Confirm card for {what}", _card)
            await self.click(person, card, ":ok")
            return
        proposal = await self.expect(person, f"the Confirm button for {what}", _has_button("act:"))
        data = next(d for d in proposal.callback_data() if d.endswith(":ok"))
        await self.press(person, proposal, data)

    async def click(self, person: Person, card: dict[str, object], key_end: str) -> None:
        """A member taps the button of a WeCom card whose key ends with ``key_end``."""
        body = card["body"]
        assert isinstance(body, dict)
        template = body["template_card"]
        button = next(b for b in template["button_list"] if str(b["key"]).endswith(key_end))
        self.transcript.press(person, str(button["text"]), self.clock.now())
        await self.office.call(
            "POST",
            "click",
            {"userid": person.userid, "task_id": template["task_id"], "key": button["key"]},
        )

    async def wecom_expect(
        self,
        person: Person,
        what: str,
        predicate: Callable[[dict[str, object]], bool] | None = None,
    ) -> dict[str, object]:
        """The next WeCom message to ``person`` the script has not read that matches."""
        assert person.userid is not None
        deadline = time.monotonic() + STEP_TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            sent = await self.office.sent(person.userid, self.wecom_read, timeout=left)
            for message in sent:
                self.wecom_read += 1
                if predicate is None or predicate(message):
                    return message
        self.bot.check_running()
        raise DemoError(f"{person.label} never got {what} on WeCom")

    async def watch_wecom(self, person: Person) -> None:
        """Write every WeCom message the app sends ``person`` into the transcript."""
        assert person.userid is not None
        seen = 0
        while True:
            sent = await self.office.sent(person.userid, seen, timeout=1.0)
            seen += len(sent)
            self.wecom_stamps += [time.monotonic()] * len(sent)
            for message in sent:
                self.transcript.bot(person, wechat_shown(message), self.clock.now())

    async def link_token(self, person: Person, what: str) -> str:
        message = await self.expect(person, what, lambda m: _LINK.search(m.shown) is not None)
        found = _LINK.search(message.shown)
        assert found is not None
        return found.group(1)

    def last_message(self, person: Person) -> int:
        sent = self.api.messages_to(person.chat_id)
        return sent[-1].message_id if sent else 0

    # --- watching -------------------------------------------------------------------------

    async def watch(self) -> None:
        """Write every message the bot sends into the transcript, as it arrives."""
        seen = 0
        while True:
            with contextlib.suppress(TimeoutError):
                await self.api.wait_until(
                    lambda seen=seen: len(self.api.events) > seen,  # type: ignore[misc]
                    timeout=1.0,
                )
            events = self.api.events[seen:]
            seen += len(events)
            for event in events:
                if event.kind != "sent" or event.chat_id not in self.by_chat:
                    continue
                assert event.message_id is not None
                message = self.api.message(event.chat_id, event.message_id)
                at = datetime.fromtimestamp(message.date, SHANGHAI)
                text = _shown(message)
                due = self._due(message)
                if due is not None and at - due > LATE:
                    # Said in the transcript: the rehearsal clock should never let this happen.
                    text = f"(due {due.astimezone(SHANGHAI):%m-%d %H:%M}) {text}"
                self.transcript.bot(self.by_chat[event.chat_id], text, at, due=due)

    async def watch_wechat(self, patient: Person) -> None:
        """Write every WeChat message the account sends ``patient`` into the transcript."""
        assert patient.openid is not None
        seen = 0
        while True:
            sent = await self.phone.sent(patient.openid, seen, timeout=1.0)
            seen += len(sent)
            for message in sent:
                self.transcript.bot(patient, wechat_shown(message), self.clock.now())

    async def wechat_expect(
        self, patient: Person, what: str, predicate: Callable[[dict[str, object]], bool]
    ) -> dict[str, object]:
        """The next WeChat message to ``patient`` the script has not read that matches."""
        assert patient.openid is not None
        deadline = time.monotonic() + STEP_TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            sent = await self.phone.sent(patient.openid, self.wechat_read, timeout=left)
            for message in sent:
                self.wechat_read += 1
                if predicate(message):
                    return message
        self.bot.check_running()
        raise DemoError(f"{patient.label} never got {what} on WeChat")

    async def answer_templates(self, patient: Person) -> None:
        """A WeChat patient opens the link of each template message as it arrives and answers
        on the page, as the Telegram patients press their buttons."""
        assert patient.openid is not None
        while True:
            sent = await self.phone.sent(patient.openid, self.templates_answered, timeout=3600)
            for message in sent:
                self.templates_answered += 1
                url = (
                    message["body"].get("url")
                    if message["method"] == "sendTemplateMessage"
                    else None
                )
                if url:
                    await self.answer_on_page(patient, str(url))

    async def answer_on_page(self, patient: Person, url: str) -> None:
        page = await self.phone.open(url)
        choices = {value: label for name, value, label in page.buttons if name == "choice"}
        wanted = next((c for c in WANTED if c in choices), None)
        if wanted is None:  # answered already, or nothing to answer
            return
        self.transcript.page(patient, choices[wanted], self.clock.now())
        answer = await self.phone.submit(url, page, "choice", wanted)
        self.page_answers += 1
        # What the page answered, without what it repeats (the title, the contacts).
        new = [text for text in answer.texts if text not in page.texts]
        self.transcript.bot(patient, "[page] " + "\n".join(new), self.clock.now())

    def _due(self, message: SentMessage) -> datetime | None:
        """When the reminder a message is was due (None for any other message: a nudge
        about a reminder carries its buttons too, but is sent when the nudge is due)."""
        ids = [d.split(":")[1] for d in message.callback_data() if d.startswith("rem:")]
        if not ids or not ids[0].isdigit():
            return None
        with read_session(self.bot.db) as session:
            reminder = session.get(Reminder, int(ids[0]))
        # Not yet recorded as sent (the watcher can be quicker than the bot): this message.
        if reminder is None or reminder.message_id not in (None, message.message_id):
            return None
        return reminder.due_at

    async def answer_reminders(self, patient: Person) -> None:
        """A patient presses a button under each reminder as it arrives."""
        while True:
            try:
                message = await self.api.wait_for_message(
                    patient.chat_id, _has_button("rem:"), timeout=3600
                )
            except TimeoutError:
                continue
            choices = {d.rsplit(":", 1)[1]: d for d in message.callback_data()}
            if patient == P02 and "later" in choices and not self.asked_for_another_day:
                self.asked_for_another_day = True
                data = choices["later"]
            elif self.api.send_allowance(patient.chat_id) < 2:
                # Busy (the bot may not answer within Telegram's limits): this one stays
                # unanswered, and the bot's escalations see to it.
                continue
            else:
                wanted = ("yes", "started", "finished", "taken")
                data = next((choices[c] for c in wanted if c in choices), None)  # type: ignore[assignment]
                if data is None:
                    continue
            with contextlib.suppress(ControlError):  # the keyboard went meanwhile
                await self.press(patient, message, data, answers=2)
                self.presses += 1

    async def weeks_pass(self, until: datetime) -> None:
        """The bot runs fast until trial time reaches ``until``; patients answer reminders."""
        now = self.clock.now()
        days = (until - now).total_seconds() / 86400
        self.transcript.note(
            f"{days:.0f} trial days pass at {FAST:,.0f} times real time "
            f"(about {(until - now).total_seconds() / FAST:.0f} s)",
            now,
        )
        # Trial time slows to real speed at ``until``: the few real seconds the bot takes to
        # stop would otherwise be trial days.
        await self.bot.start(
            "--resume", "--clock-speed", f"{FAST:g}", "--clock-until", until.isoformat()
        )
        self.transcript.start_fast()
        tasks = [asyncio.create_task(self.answer_reminders(p)) for p in TELEGRAM_PATIENTS]
        tasks.append(asyncio.create_task(self.answer_templates(P05)))
        try:
            while self.clock.now() < until:
                self.bot.check_running()
                left = (until - self.clock.now()).total_seconds() / FAST
                await asyncio.sleep(max(0.01, min(0.25, left)))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.bot.stop()
        self.transcript.end_fast()

    async def slow(self, title: str) -> None:
        self.transcript.note(title, self.clock.now())
        await self.bot.start("--resume", "--clock-speed", f"{SLOW:g}")

    # --- the script -------------------------------------------------------------------------

    async def join_on_wecom(self, person: Person) -> None:
        """A member of staff on WeCom: the coordinator's one-time code, sent to the app; then
        English chosen from the language card."""
        assert person.userid is not None
        await self.send(COORDINATOR, "/invite 护士 wecom", answers=3)
        await self.expect(COORDINATOR, "the WeCom code's heading", contains="企业微信")
        code = await self.expect(COORDINATOR, "the nurse's WeCom code")
        await self.office.call("POST", "members", {"userid": person.userid})
        await self.send(person, code.shown)
        await self.wecom_expect(person, "the welcome to the study team")
        await self.send(person, "lang")
        card = await self.wecom_expect(person, "the language card", _card)
        await self.click(person, card, "en")
        await self.wecom_expect(person, "the language set")

    async def join_staff(self, person: Person, token: str) -> None:
        await self.send(person, f"/start {token}")
        await self.expect(person, "the welcome to the study team")

    async def enroll_and_join(self, patient: Person) -> None:
        arm, sex, weight, lang, born = ENROLMENT[patient]
        await self.send(
            COORDINATOR,
            f"/enroll {patient.label} {arm} {DAY0.isoformat()} {sex} {weight} {lang}"
            f" born={born} consent={CONSENT.isoformat()}",
        )
        await self.confirm(COORDINATOR, f"enrolling {patient.label}")
        token = await self.link_token(COORDINATOR, f"{patient.label}'s join link")
        await self.send(patient, f"/start {token}")
        ask = await self.expect(patient, "the language question", _has_button("lang:"))
        await self.press(patient, ask, f"lang:{patient.lang}")
        await self.expect(patient, "the privacy notice", contains="120")
        await self.expect(patient, "their next events")

    async def enroll_and_join_on_wechat(self, patient: Person) -> None:
        """Enrolled on WeChat: the coordinator gets a QR code, the patient scans it in
        WeChat, follows the hospital's account and chooses a language from its menu."""
        arm, sex, weight, lang, born = ENROLMENT[patient]
        assert patient.openid is not None
        await self.send(
            COORDINATOR,
            f"/enroll {patient.label} {arm} {DAY0.isoformat()} {sex} {weight} {lang}"
            f" 出生={born} 知情同意={CONSENT.isoformat()} wechat",
        )
        await self.confirm(COORDINATOR, f"enrolling {patient.label}")
        await self.expect(COORDINATOR, f"{patient.label}'s QR code", lambda m: m.photo is not None)
        code = await self.phone.newest_qr_code()
        self.transcript.note(
            f"{patient.label} scans the QR code in WeChat and follows the hospital's account",
            self.clock.now(),
        )
        await self.phone.call("POST", "users", {"openid": patient.openid, "language": "zh_CN"})
        await self.phone.call("POST", "scan", {"openid": patient.openid, "ticket": code["ticket"]})
        ask = await self.wechat_expect(
            patient, "the language question", lambda m: _menu(m) is not None
        )
        options = _menu(ask) or []
        label = "中文" if patient.lang == "zh_Hans" else "English"
        if label not in options:
            raise DemoError(f"{patient.label}'s language menu has no {label}: {options}")
        self.transcript.press(patient, label, self.clock.now())
        await self.phone.call("POST", "choose", {"openid": patient.openid, "label": label})
        await self.wechat_expect(patient, "the privacy notice", lambda m: "120" in _text(m))
        await self.wechat_expect(patient, "their next events", lambda m: bool(_text(m)))

    async def labs(self, patient: Person, week: int, values: str, dated: date | None) -> None:
        suffix = f" date={dated.isoformat()}" if dated is not None else ""
        await self.send(NURSE, f"/labs {patient.label} w{week} {values}{suffix}")
        await self.confirm(NURSE, f"{patient.label}'s week {week} labs")
        await self.wecom_expect(NURSE, f"the stored labs of {patient.label}")

    async def dose(self, patient: Person, given: date) -> None:
        """The nurse records a belimumab infusion given and confirms it (the dose comes from
        the patient's weight; the infusion booked around ``given`` is marked done)."""
        await self.send(NURSE, f"/dose {patient.label} belimumab date={given.isoformat()}")
        await self.confirm(NURSE, f"{patient.label}'s belimumab dose of {given.isoformat()}")
        await self.wecom_expect(NURSE, f"the recorded dose of {patient.label}")

    async def play(self, first_invite: str) -> None:
        t = self.transcript
        t.note(
            f"Trial time starts at {T0:%Y-%m-%d %H:%M} (Asia/Shanghai); the bot runs at "
            f"{SLOW:g} times real time while people type"
        )
        await self.bot.start("--clock-start", T0.isoformat(), "--clock-speed", f"{SLOW:g}")
        t.note(
            "The coordinator (中文) joins on Telegram by invitation; the nurse (English) on the "
            "hospital's WeCom, with a one-time code"
        )
        await self.join_staff(COORDINATOR, first_invite)
        await self.join_on_wecom(NURSE)

        t.note("Four patients are enrolled (two per arm) and join, in their own language")
        for patient in TELEGRAM_PATIENTS:
            await self.enroll_and_join(patient)
        t.note("P05 lives in Nanjing: enrolled on the hospital's WeChat Official Account")
        await self.enroll_and_join_on_wechat(P05)
        await self.bot.stop()

        await self.weeks_pass(self.script.first_stop)

        await self.slow("A patient reports a red flag; the nurse logs a serious adverse event")
        await self.send(P04, "/report")
        ask = await self.expect(P04, "the red-flag question", _has_button("rep:flag"))
        flag = next(d for d in ask.callback_data() if "breathing" in d)
        await self.press(P04, ask, flag)
        await self.expect(P04, "the emergency instructions", contains="120")
        await self.expect(COORDINATOR, "the urgent red-flag alert", contains="P04")
        await self.send(NURSE, "/ae P01 lung infection G3 serious=hospitalization onset=2026-12-20")
        await self.confirm(NURSE, "the serious adverse event")
        alert = await self.expect(
            COORDINATOR,
            "the serious adverse event alert",
            lambda m: "P01" in m.shown and _AE_ID.search(m.shown) is not None,
        )
        ae = _AE_ID.search(alert.shown)
        assert ae is not None
        await self.send(COORDINATOR, f"/ack AE{ae.group(1)}")
        await self.expect(COORDINATOR, "the acknowledgement", contains=f"AE{ae.group(1)}")
        t.note("The nurse records the first belimumab infusions given (week 2)")
        for patient in BELIMUMAB_PATIENTS:
            await self.dose(patient, FIRST_INFUSION)
        t.note("The nurse enters the baseline (week 0) labs")
        for patient, values in BASELINE_LABS.items():
            await self.labs(patient, 0, values, DAY0)
        await self.bot.stop()

        await self.weeks_pass(self.script.final_stop)

        week = self.script.last_week
        await self.slow(f"Week {week}: the last labs, then the coordinator looks at the trial")
        for patient, values in FINAL_LABS.items():
            # Dated the assessment's own day: however late a busy machine lets the trial
            # clock run, the collection stays inside its window.
            await self.labs(patient, week, values, DAY0 + timedelta(weeks=week))
        infusion = self.script.last_infusion_week
        t.note(f"The nurse records the week-{infusion} belimumab infusions given")
        for patient in BELIMUMAB_PATIENTS:
            await self.dose(patient, DAY0 + timedelta(weeks=infusion))
        zh = Translator("zh_Hans", SHANGHAI)
        for command, msgid in (
            ("/status", "Trial status on {date}"),
            ("/summary", SUMMARY_HEADING),
        ):
            mark = self.last_message(COORDINATOR)
            await self.send(COORDINATOR, command, answers=3)
            start = zh._(msgid, date="\x00", week="\x00", level="\x00").split("\x00")[0]
            await self.expect(
                COORDINATOR,
                f"the answer to {command}",
                lambda m, start=start, mark=mark: (
                    m.message_id > mark  # type: ignore[misc]
                    and m.shown.startswith(start)
                ),
            )
        plots = self.output / "plots"
        plots.mkdir(parents=True, exist_ok=True)
        for chart in ("proteinuria", "swimmer"):
            await self.send(COORDINATOR, f"/plot {chart}")
            picture = await self.expect(
                COORDINATOR, f"the {chart} plot", lambda m: m.photo is not None
            )
            assert picture.photo is not None
            assert picture.photo.data is not None
            (plots / f"{chart}.png").write_bytes(picture.photo.data)
        await self.send(COORDINATOR, "/export")
        for name, suffix in (("trial.xlsx", ".xlsx"), ("csv.zip", ".zip")):
            document = await self.expect(
                COORDINATOR,
                f"the export's {suffix} file",
                lambda m, s=suffix: (
                    m.document is not None  # type: ignore[misc]
                    and (m.document.file_name or "").endswith(s)
                ),
            )
            assert document.document is not None
            assert document.document.data is not None
            (self.output / name).write_bytes(document.document.data)
        with zipfile.ZipFile(self.output / "csv.zip") as archive:
            archive.extractall(self.output / "csv")
        await self.send(COORDINATOR, "/report pdf")
        report = await self.expect(
            COORDINATOR,
            "the safety-review report",
            lambda m: m.document is not None and (m.document.file_name or "").endswith(".pdf"),
        )
        assert report.document is not None
        assert report.document.data is not None
        (self.output / "safety-report.pdf").write_bytes(report.document.data)
        await self.bot.stop()


async def _play(demo: Demo, stream: TextIO) -> None:
    """The script, with the transcript written as messages arrive; the bot stopped after."""
    # The first coordinator's invitation, as `python -m bot invite --role coordinator` makes it.
    with UnitOfWork(demo.bot.db, "system", T0, "demo: the first coordinator") as uow:
        first_invite = create_invite(uow, InviteRole.COORDINATOR)
    watchers = [
        asyncio.create_task(demo.watch()),
        asyncio.create_task(demo.watch_wechat(P05)),
        asyncio.create_task(demo.watch_wecom(NURSE)),
    ]
    try:
        await demo.play(first_invite)
        await asyncio.sleep(0.05)  # the watchers write the last messages
    except BaseException:
        tail = demo.bot.tail()
        if tail:
            print(f"--- the bot's log (last lines, {demo.bot.log}) ---\n{tail}", file=stream)
        raise
    finally:
        with contextlib.suppress(DemoError):
            await demo.bot.stop()
        for watcher in watchers:
            watcher.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)


def _card(message: dict[str, object]) -> bool:
    body = message["body"]
    return isinstance(body, dict) and body.get("msgtype") == "template_card"


def _menu(message: dict[str, object]) -> list[str] | None:
    """The option labels of a WeChat menu message (None for any other message)."""
    body = message["body"]
    assert isinstance(body, dict)
    if body.get("msgtype") != "msgmenu":
        return None
    return [str(option["content"]) for option in body["msgmenu"]["list"]]


def _text(message: dict[str, object]) -> str:
    body = message["body"]
    assert isinstance(body, dict)
    return str(body["text"]["content"]) if body.get("msgtype") == "text" else ""


def _fresh_output(output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    for name in ("transcript.txt", "trial.xlsx", "csv.zip", "bot.log", "wechat.log", "wecom.log"):
        (output / name).unlink(missing_ok=True)
    for folder in ("csv", "plots"):
        shutil.rmtree(output / folder, ignore_errors=True)


async def run_demo(output: Path, *, short: bool = False, out: TextIO | None = None) -> Transcript:
    """Play the demo; the transcript and the outputs go to ``output``. Raises DemoError."""
    began = time.monotonic()
    stream = out if out is not None else sys.stdout
    _fresh_output(output)
    transcript = Transcript(output / "transcript.txt", SHANGHAI, stream)
    clock = TrialClock(T0)
    # Telegram's limits kept in trial seconds, as the bot's pacing under its rehearsal clock.
    api = LocalBotApi(flood_limits=True, clock=clock.seconds, wall_clock=clock.seconds)
    web_port = free_port()
    wechat = LocalServer(
        "local_servers.wechat",
        wechat_args(load_protocol().wechat, f"http://127.0.0.1:{web_port}{CALLBACK_PATH}"),
        output / "wechat.log",
    )
    wecom = LocalServer(
        "local_servers.wecom",
        wecom_args(f"http://127.0.0.1:{web_port}{WECOM_CALLBACK_PATH}"),
        output / "wecom.log",
    )
    phone, office = Phone(wechat.url), Phone(wecom.url)
    try:
        await api.start()
        for person in PEOPLE:
            code = "zh-hans" if person.lang == "zh_Hans" else "en"
            api.add_user(person.chat_id, first_name=person.label.capitalize(), language_code=code)
        await wechat.start()
        await wecom.start()
        with tempfile.TemporaryDirectory(prefix="trial-demo-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'trial.db'}"
            migrate(url)
            db = make_engine(url)
            try:
                process = BotProcess(
                    api,
                    url,
                    db,
                    clock,
                    output / "bot.log",
                    bot_env(wechat.url, wecom.url, web_port),
                )
                demo = Demo(api, clock, transcript, process, output, Script(short), phone, office)
                demo.by_chat = {p.chat_id: p for p in PEOPLE}
                await _play(demo, stream)
            finally:
                db.dispose()
        wechat_violations = await phone.violations()
        wecom_violations = await office.violations()
    finally:
        await phone.close()
        await office.close()
        await wechat.stop()
        await wecom.stop()
        await api.stop()
        transcript.close()
    if api.violations:
        raise DemoError(f"the bot broke the Bot API spec: {api.violations[:3]}")
    if wechat_violations:
        raise DemoError(f"the bot broke WeChat's API (api.json): {wechat_violations[:3]}")
    if wecom_violations:
        raise DemoError(f"the bot broke WeCom's API (api.json): {wecom_violations[:3]}")
    took = time.monotonic() - began
    latest = max((at - due for _, due, at in transcript.reminders), default=timedelta(0))
    print(
        f"\nDone in {took:.0f} s (real time); {demo.presses} buttons pressed by patients "
        f"on Telegram, {demo.page_answers} answers on WeChat pages; "
        f"{api.flood_errors} sends slowed by Telegram's flood limits; "
        f"{len(transcript.reminders)} reminders on Telegram, the latest "
        f"{latest.total_seconds() / 60:.0f} trial minutes after its time.",
        file=stream,
    )
    print(
        f"Outputs in {output}/:\n"
        f"  transcript.txt   the whole conversation\n"
        f"  trial.xlsx       the export workbook\n"
        f"  csv.zip, csv/    the CSV files (labs.csv, SDTM DM to RS)\n"
        f"  plots/           proteinuria.png, swimmer.png\n"
        f"  safety-report.pdf  the safety-review report (/report pdf)\n"
        f"  bot.log          the bot's own log\n"
        f"  wechat.log       the local WeChat server's log\n"
        f"  wecom.log        the local WeCom server's log",
        file=stream,
    )
    return transcript
