"""Thousands of random updates thrown at the real Application.

Requirement: "A hypothesis test throws thousands of random updates (random users,
texts, callback data) at the application: no unhandled exception, no change
to the database by anyone without a role, no request the spec check rejects."

The Application is the one ``build_application`` makes, talking HTTP to a
:class:`LocalBotApi` for every request it sends (so every request is checked
against the Bot API spec). Updates are made by the local server's own user
API (a user types text or presses a button on a message the bot sent), so
they look exactly as Telegram would deliver them, and are handed to
``Application.process_update`` directly: faster than the polling loop, same
handlers. The server and the Application start once per test function.

Who sends: strangers (random ids and language codes), a patient, a nurse
and a coordinator who joined, and a withdrawn patient and a deactivated nurse
who still have the buttons the bot sent them (a report half-done, a staff
guide, a Confirm of typed data, real reminders).

The commands, button prefixes and tables are read from the registries
(``bot.roles.COMMANDS``, ``bot.features.FEATURES``, the SQLModel metadata),
so features added later are fuzzed without editing this file.
``FUZZ_EXAMPLES=400`` runs a longer hunt (default 60 examples of 20-50 updates).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from sqlmodel import SQLModel, select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, ContextTypes

from bot import features
from bot.channels.telegram.app import build_application
from bot.context import Services
from bot.roles import COMMANDS
from core.protocol import load_protocol
from core.store.audit import verify_chain
from core.store.db import make_engine, read_session
from core.store.identities import patient_by_account
from core.store.invites import create_invite
from core.store.models import Channel, InviteRole, Patient, PatientStatus, Reminder, Staff
from core.store.services import claim_due_reminders, enroll_patient, mark_reminder_sent
from core.store.uow import UnitOfWork
from local_servers.telegram.server import LocalBotApi
from scheduler.clock import FakeClock
from tests.support.bot_harness import is_telegram_staff
from tests.support.db_state import audit_since, changed_tables, last_audit_seq, snapshot

# The real Application against the local server, thousands of updates (about a minute).
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TOKEN = "123456:" + "F" * 35
BOT_USERNAME = "trial_companion_bot"
START = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
GROUP = -100_777
# The text of a message the test sends to carry a button the bot has not sent.
CRAFTED = "(a button from an earlier version of the bot)"

# The shape of the runs: thousands of updates in total, well under a minute.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
UPDATES_PER_EXAMPLE = (20, 50)

# --- what people send -------------------------------------------------------------


def _prefixes() -> list[str]:
    """The literal start of every button pattern the bot registers (``lang:``, ``rep:``...)."""
    found = []
    for pattern, _handler in (o for f in features.FEATURES for o in f.options):
        match = re.match(r"\^([A-Za-z0-9_:\-]+)", pattern)
        if match:
            found.append(match.group(1))
    return sorted(set(found) | {"lang:", "rep:", "rem:", "cal:"})


PREFIXES = _prefixes()
COMMAND_WORDS = sorted(COMMANDS)

# No surrogates (not text) and no C0/C1 controls except newline: Telegram does
# not deliver those in a message's text.
_chars = st.characters(blacklist_categories=("Cs", "Cc")) | st.just("\n")
_chinese = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
_tricky = st.sampled_from(
    [
        "<b>",
        "</b>",
        "<i>",
        "&",
        "&amp;",
        "&lt;",
        "<",
        ">",
        "<a href='x'>",
        '"',
        "'",
        "{",
        "}",
        "{0}",
        "{command}",
        "{number}",
        "%s",
        "%(x)s",
        "\\",
        "\u200b",
        "\u00a0",
        "🩺",
        "P01",
        "0.4",
        "-1",
        "1e9",
        "NaN",
        "2026-12-01",
        "99999999999999999999",
        "@trial_companion_bot",
    ]
)
_word = st.text(_chars, min_size=1, max_size=12) | _tricky | st.integers(-5, 10**6).map(str)
_args = st.lists(_word, max_size=4).map(" ".join)
_command_word = (
    st.sampled_from(COMMAND_WORDS)
    | st.sampled_from(COMMAND_WORDS).map(lambda c: f"{c}@{BOT_USERNAME}")
    | st.sampled_from(COMMAND_WORDS).map(lambda c: f"{c}@other_bot")
    | st.sampled_from(["frobnicate", "Start", "HELP", "start_", "x" * 64])
)


def _long(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]


TEXT = st.one_of(
    st.tuples(_command_word, _args).map(lambda p: f"/{p[0]} {p[1]}".rstrip()),
    st.text(st.characters(codec="ascii", categories=("L", "N", "Pd")), max_size=80).map(
        lambda token: f"/start {token}".rstrip()
    ),
    st.text(_chars, min_size=1, max_size=300),
    st.text(_chinese, min_size=1, max_size=200),
    st.lists(_tricky | _word, min_size=1, max_size=20).map("".join),
    st.sampled_from([" ", "\n", ".", "\u200b", "\u00a0", "/", "//", "/ start", "0"]),
    st.tuples(
        st.sampled_from(["a", "长", "<b>&amp;", "{x}", "a b", "/x "]), st.integers(1, 4096)
    ).map(lambda p: _long(*p)),
)


def _fit_callback_data(data: str) -> str:
    """Telegram carries 1-64 bytes of ``callback_data``."""
    while len(data.encode()) > 64:
        data = data[:-1]
    return data or "x"


_suffix = st.one_of(
    st.text(_chars, max_size=40),
    st.integers(0, 60).map(str),
    st.tuples(st.integers(0, 60), _word).map(lambda p: f"{p[0]}:{p[1]}"),
    st.sampled_from(
        ["en", "zh_Hans", "fr", "", "ok", "no", "skip", "yes", "later", "taken", "problem", "1:ok"]
    ),
)
# ("harvest", n): the n-th callback_data of the buttons the bot has really sent to
# the known people, pressed by whoever this update is from. ("latest", n): one
# of the buttons on the newest message with buttons in the presser's own chat,
# which walks the flows (report, staff guides) deeper than random data would.
Harvest = tuple[Literal["harvest", "latest"], int]
CALLBACK_DATA: st.SearchStrategy[str | Harvest] = st.one_of(
    st.tuples(st.sampled_from(PREFIXES), _suffix).map(lambda p: _fit_callback_data(p[0] + p[1])),
    st.text(_chars, min_size=1, max_size=64).map(_fit_callback_data),
    st.tuples(st.just("harvest"), st.integers(0, 10_000)),
    st.tuples(st.just("latest"), st.integers(0, 100)),
    st.tuples(st.just("latest"), st.integers(0, 100)),
)

LANGUAGE_CODES = [
    None,
    "en",
    "en-GB",
    "zh-CN",
    "zh-hans",
    "zh-TW",
    "zh",
    "fr",
    "de-AT",
    "x-klingon",
]


@dataclass(frozen=True)
class Stranger:
    user_id: int
    language_code: str | None


STRANGER = st.builds(Stranger, st.integers(70_001, 70_025), st.sampled_from(LANGUAGE_CODES))
KNOWN = st.sampled_from(["patient", "nurse", "coordinator"])
# Joined once, then withdrawn or deactivated: no role now, but real buttons in their chats.
FORMER = st.sampled_from(["former_patient", "former_nurse"])


@dataclass(frozen=True)
class Send:
    who: Stranger | str
    text: str
    in_group: bool


@dataclass(frozen=True)
class Press:
    who: Stranger | str
    data: str | Harvest
    # A message id the callback claims, instead of the one pressed (the handlers must cope).
    claimed_message_id: int | None


@dataclass(frozen=True)
class Attach:
    """A message that is not text: a sticker, a photo with a caption, a contact..."""

    who: Stranger | str
    content: dict[str, Any]
    in_group: bool


_file = {"file_id": "AgACAgIAAxkBAAIB", "file_unique_id": "AQADZG"}
CONTENT = st.one_of(
    st.just(
        {
            "sticker": _file
            | {"type": "regular", "width": 512, "height": 512}
            | {"is_animated": False, "is_video": False}
        }
    ),
    st.builds(
        lambda caption: {"photo": [_file | {"width": 90, "height": 90}], "caption": caption},
        TEXT.map(lambda text: text[:1024]),
    ),
    st.just({"voice": _file | {"duration": 3}}),
    st.just({"location": {"latitude": 32.06, "longitude": 118.79}}),
    # A shared contact carries a phone number: it must not be stored.
    st.just({"contact": {"phone_number": "+8613800000000", "first_name": "Li"}}),
    st.just({"document": _file | {"file_name": "labs.pdf", "mime_type": "application/pdf"}}),
)


Step = Send | Attach | Press


def actions(
    who: st.SearchStrategy[Stranger | str], presses: int = 1
) -> st.SearchStrategy[list[Step]]:
    """20-50 updates; ``presses`` button presses for every two text messages and one other."""
    in_group = st.integers(0, 9).map(lambda n: n == 0)
    send = st.builds(Send, who, TEXT, in_group)
    attach = st.builds(Attach, who, CONTENT, in_group)
    press = st.builds(
        Press, who, CALLBACK_DATA, st.one_of(st.none(), st.none(), st.integers(1, 10**6))
    )
    return st.lists(
        st.one_of(send, send, attach, *[press] * presses),
        min_size=UPDATES_PER_EXAMPLE[0],
        max_size=UPDATES_PER_EXAMPLE[1],
    )


# --- the running bot ------------------------------------------------------------------


@dataclass
class Bench:
    """The Application and the local server, up for one test function."""

    api: LocalBotApi
    app: Application  # type: ignore[type-arg]
    services: Services
    errors: list[BaseException] = field(default_factory=list)
    known: dict[str, int] = field(default_factory=dict)
    # callback_data of buttons the bot would send but has not here (reminders).
    more_data: list[str] = field(default_factory=list)
    updates: int = 0
    serial: int = 0

    @property
    def engine(self) -> Any:
        return self.services.engine

    async def deliver(self) -> None:
        """Hand every update the server holds to the Application, then confirm them."""
        pending = self.api.pending_updates
        for data in pending:
            self.updates += 1
            try:
                await self.app.process_update(Update.de_json(data, self.app.bot))
            except Exception as error:  # escaped process_update: the worst kind
                self.errors.append(error)
        if pending:
            await self.app.bot.get_updates(offset=pending[-1]["update_id"] + 1, timeout=0)

    def user(self, who: Stranger | str) -> int:
        if isinstance(who, str):
            return self.known[who]
        self.api.add_user(who.user_id, f"S{who.user_id}", language_code=who.language_code)
        return who.user_id

    async def send(self, user: int, text: str, in_group: bool = False) -> None:
        chat = GROUP if in_group else None
        if in_group:
            self.api.chat(GROUP).members.add(user)
        await self.api.user_sends(user, text, chat_id=chat)
        await self.deliver()

    async def attach(self, user: int, content: dict[str, Any], in_group: bool = False) -> None:
        """A message that is not text. The local server's users only type and press,
        so this update is made here, as Telegram would deliver it."""
        self.serial += 1
        chat = self.api.chat(GROUP if in_group else user)
        message = {
            "message_id": 1_000_000 + self.serial,
            "from": self.api.user(user).to_dict(),
            "chat": chat.to_dict(),
            "date": int(START.timestamp()),
            **content,
        }
        self.updates += 1
        update = Update.de_json(
            {"update_id": 10**9 + self.serial, "message": message}, self.app.bot
        )
        try:
            await self.app.process_update(update)
        except Exception as error:
            self.errors.append(error)

    def harvested(self) -> list[str]:
        """Every callback_data on the buttons the bot sent the known people."""
        return sorted(
            {
                data
                for user in self.known.values()
                for message in self.api.messages_to(user)
                for data in message.callback_data()
            }
            | set(self.more_data)
        )

    def latest_buttons(self, user: int) -> list[str]:
        """The callback_data on the newest message with buttons the bot sent ``user``."""
        for message in reversed(self.api.messages_to(user)):
            if not message.deleted and message.callback_data() and message.shown != CRAFTED:
                return message.callback_data()
        return []

    async def press(self, user: int, data: str, claimed_message_id: int | None = None) -> None:
        """The user presses a button with ``data`` on a message in their chat.

        If the bot has not sent them such a button, the message is one an
        earlier version of the bot could have sent (the test sends it through
        the same Bot API), so every press is one Telegram could deliver.
        """
        message_id = next(
            (
                m.message_id
                for m in reversed(self.api.messages_to(user))
                if not m.deleted and data in m.callback_data()
            ),
            None,
        )
        if message_id is None:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("·", callback_data=data)]])
            sent = await self.app.bot.send_message(user, CRAFTED, reply_markup=markup)
            message_id = sent.message_id
        await self.api.user_presses(user, message_id, data)
        if claimed_message_id is not None:
            # pending_updates copies the list, not the updates: this edits the queued one.
            self.api.pending_updates[-1]["callback_query"]["message"]["message_id"] = (
                claimed_message_id
            )
        await self.deliver()

    async def run(self, steps: Sequence[Step]) -> None:
        for step in steps:
            user = self.user(step.who)
            if isinstance(step, Send):
                await self.send(user, step.text, step.in_group)
                continue
            if isinstance(step, Attach):
                await self.attach(user, step.content, step.in_group)
                continue
            data = step.data
            if isinstance(data, tuple):
                kind, n = data
                pool = self.harvested() if kind == "harvest" else self.latest_buttons(user)
                data = pool[n % len(pool)] if pool else "lang:en"
            await self.press(user, data, step.claimed_message_id)


async def open_bench(tmp_path: Path) -> Bench:
    api = LocalBotApi(flood_limits=False, bot_username=BOT_USERNAME)
    await api.start()
    engine = make_engine(f"sqlite:///{tmp_path / 'fuzz.db'}")
    SQLModel.metadata.create_all(engine)
    services = Services(engine, load_protocol(), FakeClock(START), ZoneInfo("Asia/Shanghai"))
    app = build_application(services, TOKEN, base_url=api.base_url, rate_limited=False)
    bench = Bench(api, app, services)

    async def spy(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert context.error is not None
        bench.errors.append(context.error)

    app.add_error_handler(spy)
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)  # what run_polling does: setMyCommands, the bot's username
    await app.start()
    api.add_group(GROUP, "Ward")
    await _people(bench)
    return bench


async def close_bench(bench: Bench) -> None:
    try:
        await bench.app.stop()
        await bench.app.shutdown()
    finally:
        await bench.api.stop()
        bench.engine.dispose()


# Screens with buttons the setup opens for each known person, besides each bare
# command: a Confirm / Cancel of typed data, the language buttons last.
SCREENS = ("/weight P01 61.5kg", "/lang")


def _enroll(uow: UnitOfWork, bench: Bench, study_id: str, daily_doses: bool) -> Patient:
    return enroll_patient(
        uow,
        bench.services.protocol,
        study_id=study_id,
        arm="belimumab_mt",
        day0=date(2026, 12, 1),
        sex="F",
        weight_kg="62",
        language="zh_Hans",
        timezone="Asia/Shanghai",
        daily_dose_reminders=daily_doses,
        now=uow.now,
    )


async def _people(bench: Bench) -> None:
    """A patient, a nurse and a coordinator (joined), each with a few screens open; and a
    withdrawn patient and a deactivated nurse, who have no role any more but still
    have the buttons the bot sent them while they had one."""
    with UnitOfWork(bench.engine, "system", bench.services.clock.now()) as uow:
        tokens = {
            "patient": create_invite(
                uow, InviteRole.PATIENT, patient=_enroll(uow, bench, "P01", False)
            ),
            "nurse": create_invite(uow, InviteRole.NURSE),
            "coordinator": create_invite(uow, InviteRole.COORDINATOR),
            "former_patient": create_invite(
                uow, InviteRole.PATIENT, patient=_enroll(uow, bench, "P02", True)
            ),
            "former_nurse": create_invite(uow, InviteRole.NURSE),
        }
    for user_id, (name, token) in enumerate(tokens.items(), start=60_001):
        bench.api.add_user(user_id, name.title(), language_code="en")
        bench.known[name] = user_id
        await bench.send(user_id, f"/start {token}")
        if name.endswith("patient"):
            await bench.press(user_id, "lang:en")
    for user_id in bench.known.values():
        for command in COMMAND_WORDS:
            if command != "start":
                await bench.send(user_id, f"/{command}")
        for text in SCREENS:
            await bench.send(user_id, text)
    await _send_reminders(bench)
    with UnitOfWork(bench.engine, "system", bench.services.clock.now()) as uow:
        former = uow.session.exec(select(Patient).where(Patient.study_id == "P02")).one()
        assert (
            patient_by_account(uow.session, Channel.TELEGRAM, str(bench.known["former_patient"]))
            == former
        )
        uow.update(former, "patient.withdrawn", status=PatientStatus.WITHDRAWN)
        nurse = uow.session.exec(
            select(Staff).where(is_telegram_staff(bench.known["former_nurse"]))
        ).one()
        uow.update(nurse, "staff.deactivated", active=False)
    bench.more_data = reminder_data(bench)
    assert not bench.errors, bench.errors
    assert not bench.api.violations, bench.api.violations


async def _send_reminders(bench: Bench, count: int = 16) -> None:
    """The first reminders, sent as the scheduler sends them: real ``rem:`` buttons."""
    later = bench.services.clock.now() + timedelta(days=60)
    with UnitOfWork(bench.engine, "system", bench.services.clock.now()) as uow:
        ids = [r.id for r in claim_due_reminders(uow, limit=count, worker="fuzz", now=later)]
    for reminder_id in ids:
        assert reminder_id is not None
        assert bench.services.router is not None
        message_id = await bench.services.router.send(reminder_id, repeat=False)
        with UnitOfWork(bench.engine, "system", bench.services.clock.now()) as uow:
            reminder = uow.session.get(Reminder, reminder_id)
            assert reminder is not None
            mark_reminder_sent(uow, reminder, message_id=message_id)


def reminder_data(bench: Bench) -> list[str]:
    """Buttons for the patients' real reminders, as a reminder message would carry them."""
    ids: list[int | None] = []
    with read_session(bench.engine) as session:
        for patient in session.exec(select(Patient)).all():
            query = select(Reminder.id).where(Reminder.patient_id == patient.id).limit(4)
            ids += session.exec(query).all()
    return [f"rem:{i}:{choice}" for i in ids for choice in ("yes", "later", "taken", "problem")]


# No shrinking: the bench carries state from one example to the next (the known
# people's flows, the audit trail), so a shrunk example need not fail again, and
# shrinking a list of 50 updates takes minutes. The failing example is printed whole.
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)


def run_property(
    tmp_path: Path,
    steps: st.SearchStrategy[list[Step]],
    check: Any,
    examples: Sequence[list[Step]] = (),
) -> Bench:
    quiet = logging.getLogger("bot")  # the error handler logs tracebacks; the spy has them
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    with asyncio.Runner() as runner:
        bench = runner.run(open_bench(tmp_path))
        try:

            def check_one(steps: list[Step]) -> None:
                check(bench, runner, steps)

            for explicit in examples:
                check_one = example(steps=explicit)(check_one)
            prop = FUZZ_SETTINGS(given(steps=steps)(check_one))
            prop()
            with read_session(bench.engine) as session:
                assert verify_chain(session) is None, "the audit chain is broken"
        finally:
            runner.run(close_bench(bench))
            quiet.setLevel(level)
    return bench


# --- the properties ----------------------------------------------------------------------


@dataclass(frozen=True)
class Marks:
    """Where the cumulative logs stood when an example began."""

    errors: int
    violations: int
    requests: int
    audit_seq: int

    @classmethod
    def now(cls, bench: Bench) -> Marks:
        return cls(
            len(bench.errors),
            len(bench.api.violations),
            len(bench.api.requests),
            last_audit_seq(bench.engine),
        )


def _no_failures(bench: Bench, mark: Marks) -> None:
    """No exception, no request the spec check rejected, no request that failed at all."""
    errors = bench.errors[mark.errors :]
    assert errors == [], f"unhandled exceptions: {errors!r}"
    violations = bench.api.violations[mark.violations :]
    assert violations == [], f"requests that broke the Bot API spec: {violations}"
    # An edit of a message id the test made up (claimed_message_id) fails, and
    # the bot must carry on: that refusal is expected. So is "not modified" when
    # two presses on one message are handled side by side: each update carries the
    # message as it was, buttons included, so both take the buttons off and
    # Telegram refuses the second edit, which the bot only logs (the user sees the
    # same message either way). Any other refusal is not expected.
    failed = [
        (r.method, r.status, r.description)
        for r in bench.api.requests[mark.requests :]
        if r.status != 200
        and "message to edit not found" not in (r.description or "")
        and not (
            r.method == "editMessageReplyMarkup"
            and "message is not modified" in (r.description or "")
        )
    ]
    assert failed == [], f"requests that failed: {failed}"


def _strangers_check(bench: Bench, runner: asyncio.Runner, steps: list[Step]) -> None:
    before = snapshot(bench.engine)
    mark = Marks.now(bench)
    runner.run(bench.run(steps))
    _no_failures(bench, mark)
    assert changed_tables(before, snapshot(bench.engine)) == {}
    added = {(r.action, r.actor.split(":")[0]) for r in audit_since(bench.engine, mark.audit_seq)}
    # Refusals only: a stranger or former member named by their account, a withdrawn
    # patient by their study ID (the trail knows who they were).
    assert added <= {("access.refused", "telegram"), ("access.refused", "patient")}, added


def _mixed_check(bench: Bench, runner: asyncio.Runner, steps: list[Step]) -> None:
    mark = Marks.now(bench)
    runner.run(bench.run(steps))
    _no_failures(bench, mark)
    # Whatever the known people did, nothing was done in a stranger's name but refusals.
    by_strangers = {
        r.action
        for r in audit_since(bench.engine, mark.audit_seq)
        if r.actor.startswith("telegram:")
    }
    assert by_strangers <= {"access.refused"}, by_strangers


def test_people_without_a_role_change_nothing_whatever_they_send(tmp_path: Path) -> None:
    """Strangers, a withdrawn patient and deactivated staff (with their old buttons):
    no exception, no bad request, no change to any table; the trail gains refusals only."""
    who: st.SearchStrategy[Stranger | str] = st.one_of(STRANGER, STRANGER, FORMER)
    bench = run_property(tmp_path, actions(who), _strangers_check)
    assert bench.updates >= 10 * EXAMPLES, f"only {bench.updates} updates were thrown"


# Always tried first: buttons answered for real, then pressed again on a message
# id that does not exist (the answer is stored; taking the buttons off fails).
PRESS_AGAIN_ELSEWHERE: list[list[Step]] = [
    [
        Press(who, ("latest", 0), None),
        Press(who, ("latest", 0), 999_999),
        Press(who, ("harvest", n), 999_998),
    ]
    for who in ("patient", "nurse", "coordinator")
    for n in (0, 7)
]


def test_random_updates_from_everyone_are_handled(tmp_path: Path) -> None:
    """The patient, the nurse and the coordinator as well: no exception, no bad request,
    and still nothing done in the name of anyone without a role but refusals."""
    who: st.SearchStrategy[Stranger | str] = st.one_of(KNOWN, KNOWN, STRANGER, FORMER)
    steps = actions(who, presses=2)
    bench = run_property(tmp_path, steps, _mixed_check, PRESS_AGAIN_ELSEWHERE)
    assert bench.updates >= 10 * EXAMPLES, f"only {bench.updates} updates were thrown"
