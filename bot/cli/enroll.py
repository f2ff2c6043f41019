"""``python -m bot enroll --file cohort.csv --reason "..."``: enroll a cohort at once.

For a site that brings patients already on study (a paper log, a REDCap
export) to the bot: one CSV row per patient, read with the very rules of
``/enroll`` (:mod:`core.enrollment`: study ID, arm, day 0 within 26 weeks back
and 8 weeks ahead, sex, weight, language, daily dose reminders, year of birth
giving an age of 18 to 100 at day 0, informed-consent date on or before day 0
and today), then every
patient enrolled in one transaction by
:func:`core.store.services.enroll_patients`. A file with any bad row enrolls
nobody and names every bad line. The audit trail records the actor
``system`` and the ``--reason`` given, with each patient's own records.
Reminders already past are stored as missed and never sent late. Each
patient's one-time way to join is made in the same transaction and shown
once, as ``/enroll`` shows it: for Telegram the join link is printed (the
bot's @username comes from ``--bot-username`` or from Telegram,
``TELEGRAM_BOT_TOKEN``); for WeChat the QR code is asked of WeChat (the
``WECHAT_`` settings) and written as ``<study ID>-wechat.png`` into
``--qr-dir`` (the file's folder by default), whose path is printed. A QR
code WeChat does not make enrolls nobody.

Columns (a header row; extra columns are ignored; ``channel`` may be left
out, or blank, for Telegram)::

    study_id,arm,day0,sex,weight_kg,language,daily_doses,born,consent,channel
    NJ-P01,belimumab_mt,2026-11-02,F,58.5,zh,yes,1984,2026-10-30,wechat

Exit codes: 0 enrolled; 1 the database refused (nothing was written);
2 a bad file or a study ID already enrolled (nothing was written).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.i18n import Translator
from bot.settings import SettingError, Settings, WeChatSettings
from core.enrollment import (
    AgeRange,
    check_consent_date,
    check_day0,
    check_study_id,
    parse_arm,
    parse_birth_year,
    parse_language,
    parse_sex,
    parse_weight,
    parse_yes_no,
)
from core.entry_syntax import parse_date
from core.messages import RuleError
from core.protocol import Protocol
from core.schedule import trial_today, trial_zone
from core.store.models import Channel

if TYPE_CHECKING:
    from bot.context import JoinCode
    from core.store.services import Newcomer

OK, FAILED, USAGE = 0, 1, 2
COLUMNS = (
    "study_id",
    "arm",
    "day0",
    "sex",
    "weight_kg",
    "language",
    "daily_doses",
    "born",
    "consent",
)
CHANNEL_COLUMN = "channel"
# Columns a new enrollment may not leave blank, with what they hold, for the refusal.
_REQUIRED = {"born": "year of birth", "consent": "informed-consent date"}


@dataclass(frozen=True, slots=True)
class BadLine:
    line: int | None  # None: the file as a whole
    message: str


@dataclass(frozen=True, slots=True)
class Cohort:
    """The newcomers of a file, and the channel each joins on, by study ID."""

    newcomers: list[Newcomer]
    channels: dict[str, Channel]


@dataclass(frozen=True, slots=True)
class _At:
    """The command's one instant, as a clock (``--now`` in tests)."""

    instant: datetime

    def now(self) -> datetime:
        return self.instant


def _command_now(url: str) -> datetime:
    """Real time, or the trial time a rehearsal on this database stands at."""
    from core.store.db import make_engine
    from scheduler.rehearsal import command_now

    engine = make_engine(url)
    try:
        return command_now(engine)
    finally:
        engine.dispose()


def _channel(text: str) -> Channel:
    from bot.staff.coordinator.joins import NOT_A_CHANNEL, channel_word

    if not text:
        return Channel.TELEGRAM
    channel = channel_word(text)
    if channel is None:
        raise RuleError(NOT_A_CHANNEL, word=text)
    return channel


def read_cohort(
    path: Path, protocol: Protocol, timezone: str, today: date
) -> tuple[Cohort, list[BadLine]]:
    """The file's newcomers, and every line that cannot be enrolled (English messages).

    ``today`` is the trial's date, for the day-0 limits.
    """
    from core.store.services import Newcomer

    english = Translator("en", trial_zone(timezone))
    ages = AgeRange.from_protocol(protocol)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        return Cohort([], {}), [BadLine(None, f"cannot read the file: {exc.strerror}")]
    newcomers: list[Newcomer] = []
    channels: dict[str, Channel] = {}
    bad: list[BadLine] = []
    first_line: dict[str, int] = {}
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            return Cohort([], {}), [BadLine(1, f"missing columns: {', '.join(missing)}")]
        for row in reader:
            line = reader.line_num
            values = {c: (row.get(c) or "").strip() for c in COLUMNS}
            empty = [f"{c} ({_REQUIRED[c]})" for c in _REQUIRED if not values[c]]
            if empty:
                bad.append(BadLine(line, f"no {' and no '.join(empty)} given"))
                continue
            try:
                study_id = check_study_id(values["study_id"])
                day0 = check_day0(parse_date(values["day0"], today=today), today)
                newcomer = Newcomer(
                    study_id=study_id,
                    arm=parse_arm(values["arm"], list(protocol.arms)),
                    day0=day0,
                    sex=parse_sex(values["sex"]),
                    weight_kg=str(parse_weight(values["weight_kg"])),
                    language=parse_language(values["language"]),
                    timezone=timezone,
                    daily_dose_reminders=parse_yes_no(values["daily_doses"]),
                    birth_year=parse_birth_year(values["born"], day0, ages),
                    consent_date=check_consent_date(
                        parse_date(values["consent"], today=today), day0, today
                    ),
                )
                channel = _channel((row.get(CHANNEL_COLUMN) or "").strip())
            except RuleError as exc:
                bad.append(BadLine(line, english.error(exc)))
                continue
            if study_id in first_line:
                bad.append(
                    BadLine(line, f"study ID {study_id} is already on line {first_line[study_id]}")
                )
                continue
            first_line[study_id] = line
            newcomers.append(newcomer)
            channels[study_id] = channel
    if not newcomers and not bad:
        bad.append(BadLine(1, "no patients in the file"))
    return Cohort(newcomers, channels), bad


async def _qr_codes(
    wechat: WeChatSettings, clock: _At, invitations: Sequence[tuple[str, str, datetime]]
) -> dict[str, JoinCode]:
    """A WeChat QR code for each ``(study ID, token, expiry)``, by study ID."""
    from bot.channels.wechat.api import WechatApi
    from bot.channels.wechat.join_codes import WechatJoinCodes

    async with WechatApi(wechat.app_id, wechat.app_secret, base_url=wechat.api_base_url) as api:
        codes = WechatJoinCodes(api, clock)
        return {
            study_id: await codes.make(token, expires_at)
            for study_id, token, expires_at in invitations
        }


def cmd_enroll(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.context import JoinCodeUnavailable
    from bot.runner import NotConfigured, resolve_bot_username
    from core.store.audit import SYSTEM
    from core.store.db import make_engine, safe_url
    from core.store.invites import create_invite
    from core.store.migrate import migrate
    from core.store.models import InviteRole, Patient
    from core.store.services import enroll_patients, invite_by_token
    from core.store.uow import UnitOfWork

    protocol = settings.protocol()
    zone = trial_zone(settings.trial_timezone)
    now: datetime = args.now or _command_now(settings.database_url)
    path: Path = args.file
    today = trial_today(now, zone)
    cohort, bad = read_cohort(path, protocol, settings.trial_timezone, today)
    if bad:
        for problem in bad:
            where = "" if problem.line is None else f"line {problem.line}: "
            print(f"{path}: {where}{problem.message}", file=sys.stderr)
        print(
            f"{path}: nobody was enrolled; correct the lines above and run again.", file=sys.stderr
        )
        return USAGE
    wanted = set(cohort.channels.values())
    try:
        wechat = settings.wechat()
        if Channel.WECHAT in wanted and wechat is None:
            raise NotConfigured("WeChat is not set up (the WECHAT_ settings): no QR code for it")
        bot_username = (
            resolve_bot_username(settings, args.bot_username)
            if Channel.TELEGRAM in wanted
            else None
        )
    except (NotConfigured, SettingError) as exc:
        print(f"error: {exc}; nobody was enrolled.", file=sys.stderr)
        return USAGE
    url = settings.database_url
    links: list[tuple[str, str]] = []
    codes: dict[str, JoinCode] = {}
    try:
        migrate(url)
        engine = make_engine(url)
        try:
            with UnitOfWork(engine, SYSTEM, now, reason=args.reason) as uow:
                scans: list[tuple[str, str, datetime]] = []
                for pid in enroll_patients(uow, protocol, cohort.newcomers, now=now):
                    patient = uow.session.get(Patient, pid)
                    assert patient is not None
                    token = create_invite(uow, InviteRole.PATIENT, patient=patient)
                    if cohort.channels[patient.study_id] == Channel.WECHAT:
                        invite = invite_by_token(uow.session, token)
                        assert invite is not None
                        scans.append((patient.study_id, token, invite.expires_at))
                    else:
                        link = f"https://t.me/{bot_username}?start={token}"
                        links.append((patient.study_id, link))
                if scans:
                    assert wechat is not None
                    # Inside the transaction: a code WeChat refuses enrolls nobody.
                    codes = asyncio.run(_qr_codes(wechat, _At(now), scans))
        finally:
            engine.dispose()
    except JoinCodeUnavailable as exc:
        print(f"error: WeChat made no QR code ({exc}); nobody was enrolled.", file=sys.stderr)
        return FAILED
    except RuleError as exc:  # a study ID already enrolled
        print(f"{path}: {Translator('en', zone).error(exc)} Nobody was enrolled.", file=sys.stderr)
        return USAGE
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        print(
            f"error: {safe_url(url)} refused the cohort, nobody was enrolled: {reason}",
            file=sys.stderr,
        )
        return FAILED
    folder: Path = args.qr_dir or path.parent
    shown = dict(links)
    for study_id, code in codes.items():
        image = folder / f"{study_id}-wechat.png"
        image.write_bytes(code.image)
        shown[study_id] = str(image)
    print(
        f"enrolled {len(shown)} patients from {path}; each one's one-time link to join "
        "(Telegram) or QR code to scan (WeChat):"
    )
    for newcomer in cohort.newcomers:
        print(f"{newcomer.study_id}\t{shown[newcomer.study_id]}")
    return OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``enroll`` to ``python -m bot``'s sub-command parser."""
    e = sub.add_parser(
        "enroll", help="enroll a cohort from a CSV file, all or nobody (patients already on study)"
    )
    e.add_argument(
        "--file",
        required=True,
        type=Path,
        help="CSV: " + ",".join(COLUMNS) + f" and optionally {CHANNEL_COLUMN}",
    )
    e.add_argument(
        "--reason", required=True, help="why, for the audit trail (e.g. 'moved from the paper log')"
    )
    e.add_argument("--bot-username", help="the bot's @username, if the bot cannot be asked")
    e.add_argument(
        "--qr-dir",
        type=Path,
        help="where WeChat patients' QR codes go (default: the file's folder)",
    )
    e.add_argument("--now", type=_aware, help=argparse.SUPPRESS)  # the tests' clock
    e.set_defaults(func=cmd_enroll)


def _aware(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("expected an instant with its offset")
    return value
