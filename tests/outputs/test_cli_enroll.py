"""``python -m bot enroll --file``: a cohort from a CSV, all or nobody, audited."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import URL
from sqlmodel import select

from bot import cli
from bot.channels.wechat.join_codes import JOIN_SCENE, qr_png
from core.protocol import Protocol
from core.schedule import Enrollment, plan
from core.store import services
from core.store.audit import verify
from core.store.db import make_engine, read_session
from core.store.migrate import migrate
from core.store.models import AuditRecord, Patient, Reminder, ReminderStatus
from local_servers.wechat import (
    DEFAULT_AES_KEY,
    DEFAULT_APP_ID,
    DEFAULT_APP_SECRET,
    DEFAULT_TOKEN,
    LocalWechat,
)
from tests.support.store_fixtures import count, enroll, url_text

NOW = datetime(2026, 12, 3, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
TODAY = date(2026, 12, 3)
HEADER = "study_id,arm,day0,sex,weight_kg,language,daily_doses,born,consent\n"
# Year of birth and informed-consent date: before every day 0 of these files.
BORN_CONSENT = "1984,2026-10-20"


def _argv(path: Path, *, reason: str = "r", bot_username: str = "b") -> list[str]:
    """``python -m bot enroll`` for ``path`` at NOW."""
    return [
        "enroll",
        "--file",
        str(path),
        "--reason",
        reason,
        "--bot-username",
        bot_username,
        "--now",
        NOW.isoformat(),
    ]


def _run(
    db_url: URL,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    body: str,
    header: str = HEADER,
) -> int:
    monkeypatch.setenv("DATABASE_URL", url_text(db_url))
    path = tmp_path / "cohort.csv"
    path.write_text(header + body, encoding="utf-8")
    return cli.main(_argv(path, reason="moved from the paper log", bot_username="trial_bot"))


def test_a_cohort_file_enrolls_every_patient_with_their_plan(
    db_url: URL,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    protocol: Protocol,
) -> None:
    started = TODAY - timedelta(weeks=6)
    code = _run(
        db_url,
        tmp_path,
        monkeypatch,
        f"NJ-P01,belimumab_mt,{started},F,58.5,zh,yes,{BORN_CONSENT}\n"
        f"NJ-P02,mt_only,{TODAY + timedelta(days=3)},男,71kg,English,no,{BORN_CONSENT}\n",
    )
    assert code == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "enrolled 2 patients" in out
    links = dict(line.split("\t") for line in out.splitlines()[1:])
    assert sorted(links) == ["NJ-P01", "NJ-P02"]
    assert all(link.startswith("https://t.me/trial_bot?start=") for link in links.values())
    engine = make_engine(db_url)
    try:
        with read_session(engine) as session:
            p1 = services.patient_by_study_id(session, "NJ-P01")
            p2 = services.patient_by_study_id(session, "NJ-P02")
            assert p1 is not None and p2 is not None and p1.id and p2.id
            assert (p1.arm, p1.sex, p1.weight_kg, p1.language, p1.daily_dose_reminders) == (
                "belimumab_mt",
                "F",
                "58.5",
                "zh_Hans",
                True,
            )
            assert (p2.arm, p2.sex, p2.weight_kg, p2.language, p2.daily_dose_reminders) == (
                "mt_only",
                "M",
                "71",
                "en",
                False,
            )
            for p in (p1, p2):
                assert (p.birth_year, p.consent_date) == (1984, date(2026, 10, 20))
            first = services.reminders_of_patient(session, p1.id)
            second = services.reminders_of_patient(session, p2.id)
            records = session.exec(select(AuditRecord)).all()
            assert verify(session) is None
            # the printed links are the patients' own invitations
            for study_id, link in links.items():
                invite = services.invite_by_token(session, link.rsplit("=", 1)[1])
                patient = services.patient_by_study_id(session, study_id)
                assert invite is not None and patient is not None
                assert invite.patient_id == patient.id
        expected = plan(protocol, Enrollment("belimumab_mt", started, "Asia/Shanghai", True))
        assert len(first) == len(expected.reminders)
        # six weeks on study: what is past is recorded missed, never sent late
        assert {r.status for r in first if r.due_at < NOW} == {ReminderStatus.MISSED}
        assert {r.status for r in first if r.due_at >= NOW} == {ReminderStatus.PENDING}
        assert {r.status for r in second} == {ReminderStatus.PENDING}
        assert {(r.actor, r.reason) for r in records} == {("system", "moved from the paper log")}
        enrolled = [json.loads(r.after or "") for r in records if r.action == "patient.enrolled"]
        assert sorted(e["study_id"] for e in enrolled) == ["NJ-P01", "NJ-P02"]
    finally:
        engine.dispose()


def test_a_file_with_bad_lines_enrolls_nobody_and_names_every_line(
    db_url: URL,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = _run(
        db_url,
        tmp_path,
        monkeypatch,
        f"P01,belimumab_mt,{TODAY},F,60,zh,yes,{BORN_CONSENT}\n"
        f"P02,placebo,{TODAY},F,60,zh,yes,{BORN_CONSENT}\n"
        f"P03,mt_only,2026-13-01,F,60,zh,yes,{BORN_CONSENT}\n"
        f"P04,mt_only,{TODAY},F,sixty,zh,yes,{BORN_CONSENT}\n"
        f"P05,mt_only,{TODAY - timedelta(weeks=30)},F,60,zh,yes,{BORN_CONSENT}\n"
        f"P01,mt_only,{TODAY},F,60,zh,yes,{BORN_CONSENT}\n"
        f"P 06,mt_only,{TODAY},F,60,zh,yes,{BORN_CONSENT}\n",
    )
    err = capsys.readouterr().err
    assert code == 2
    lines = [line for line in err.splitlines() if ": line " in line]
    assert [line.split(": line ")[1].split(":")[0] for line in lines] == [
        "3",
        "4",
        "5",
        "6",
        "7",
        "8",
    ]
    assert "placebo" in lines[0] and "2026-13-01" in lines[1] and "sixty" in lines[2]
    assert "26 weeks" in lines[3] and "line 2" in lines[4] and "P 06" in lines[5]
    assert "nobody was enrolled" in err
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        assert count(engine, Patient) == 0 and count(engine, Reminder) == 0
    finally:
        engine.dispose()


def test_the_year_of_birth_and_consent_date_are_checked_as_enroll_checks_them(
    db_url: URL,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each bad line is named with its number and what is wrong; nobody is enrolled."""
    code = _run(
        db_url,
        tmp_path,
        monkeypatch,
        f"P01,mt_only,{TODAY},F,60,zh,no,1984,2026-12-01\n"
        f"P02,mt_only,{TODAY},F,60,zh,no,,2026-12-01\n"
        f"P03,mt_only,{TODAY},F,60,zh,no,1984,\n"
        f"P04,mt_only,{TODAY},F,60,zh,no,84,2026-12-01\n"
        f"P05,mt_only,{TODAY},F,60,zh,no,2010,2026-12-01\n"
        f"P06,mt_only,{TODAY},F,60,zh,no,1984,2026-12-04\n"
        f"P07,mt_only,{TODAY + timedelta(days=5)},F,60,zh,no,1984,{TODAY + timedelta(days=1)}\n"
        f"P08,mt_only,{TODAY},F,60,zh,no,1984,2026-02-30\n",
    )
    err = capsys.readouterr().err
    assert code == 2
    lines = {
        line.split(": line ")[1].split(":")[0]: line
        for line in err.splitlines()
        if ": line " in line
    }
    assert sorted(lines) == ["3", "4", "5", "6", "7", "8", "9"]
    assert "no born (year of birth) given" in lines["3"]
    assert "no consent (informed-consent date) given" in lines["4"]
    assert "84 is not a year of birth: write four digits" in lines["5"]
    assert "would be 16 at day 0; the age at day 0 must be between 18 and 100" in lines["6"]
    assert "The consent date 2026-12-04 is after day 0 (2026-12-03)" in lines["7"]
    assert "The consent date 2026-12-04 is in the future" in lines["8"]
    assert "2026-02-30 is not a date in the calendar" in lines["9"]
    assert "nobody was enrolled" in err
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        assert count(engine, Patient) == 0
    finally:
        engine.dispose()


def test_a_study_id_already_enrolled_refuses_the_whole_file(
    db_url: URL,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    protocol: Protocol,
) -> None:
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        enroll(engine, protocol, "P07")
        before = count(engine, Patient), count(engine, Reminder), count(engine, AuditRecord)
        code = _run(
            db_url,
            tmp_path,
            monkeypatch,
            f"P06,belimumab_mt,{TODAY},F,60,zh,yes,{BORN_CONSENT}\nP07,mt_only,{TODAY},M,70,en,no,{BORN_CONSENT}\n",
        )
        assert code == 2
        err = capsys.readouterr().err
        assert "Study ID P07 is already enrolled." in err and "Nobody was enrolled." in err
        assert (
            count(engine, Patient),
            count(engine, Reminder),
            count(engine, AuditRecord),
        ) == before
    finally:
        engine.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "no patients in the file"),
        (None, "missing columns: daily_doses, born, consent"),
    ],
)
def test_an_empty_file_or_missing_columns_are_refused(
    db_url: URL,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    body: str | None,
    message: str,
) -> None:
    monkeypatch.setenv("DATABASE_URL", url_text(db_url))
    path = tmp_path / "cohort.csv"
    text = HEADER if body is not None else "study_id,arm,day0,sex,weight_kg,language\nP1,mt_only\n"
    path.write_text(text + (body or ""), encoding="utf-8")
    code = cli.main(_argv(path))
    assert code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_without_the_bots_name_nobody_is_enrolled(
    db_url: URL,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", url_text(db_url))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    path = tmp_path / "cohort.csv"
    path.write_text(HEADER + f"P01,mt_only,{TODAY},F,60,zh,yes,{BORN_CONSENT}\n", encoding="utf-8")
    code = cli.main(["enroll", "--file", str(path), "--reason", "r", "--now", NOW.isoformat()])
    assert code == 2
    assert "--bot-username" in capsys.readouterr().err
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        assert count(engine, Patient) == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_file_that_cannot_be_read_is_named_without_a_line(
    db_url: URL,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", url_text(db_url))
    missing = tmp_path / "nowhere.csv"
    code = cli.main(_argv(missing))
    assert code == 2
    assert f"{missing}: cannot read the file" in capsys.readouterr().err


def test_the_reason_is_required(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["enroll", "--file", str(tmp_path / "cohort.csv")])
    assert excinfo.value.code == 2
    assert "--reason" in capsys.readouterr().err


@contextmanager
def wechat_in_a_thread() -> Iterator[LocalWechat]:
    """A local WeChat server on its own event loop, for the command's own ``asyncio.run``."""
    server = LocalWechat()
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _wechat_env(monkeypatch: pytest.MonkeyPatch, api_url: str) -> None:
    for name, value in {
        "WECHAT_APP_ID": DEFAULT_APP_ID,
        "WECHAT_APP_SECRET": DEFAULT_APP_SECRET,
        "WECHAT_TOKEN": DEFAULT_TOKEN,
        "WECHAT_ENCODING_AES_KEY": DEFAULT_AES_KEY,
        "WECHAT_API_BASE_URL": api_url,
        "PUBLIC_BASE_URL": "https://trial.example.cn",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.mark.e2e
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_channel_column_gives_wechat_patients_a_qr_code_file(
    db_url: URL,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", url_text(db_url))
    path = tmp_path / "cohort.csv"
    path.write_text(
        HEADER.replace("\n", ",channel\n")
        + f"NJ-P01,mt_only,{TODAY},F,60,zh,no,{BORN_CONSENT},wechat\nNJ-P02,mt_only,{TODAY},M,70,en,no,{BORN_CONSENT},\n",
        encoding="utf-8",
    )
    with wechat_in_a_thread() as wechat:
        _wechat_env(monkeypatch, wechat.url)
        code = cli.main([*_argv(path, bot_username="trial_bot"), "--qr-dir", str(tmp_path)])
        assert code == 0, capsys.readouterr().err
        (qr,) = wechat.world.qr_codes.values()
        assert qr.scene.startswith(JOIN_SCENE)
        assert not wechat.violations
    links = dict(line.split("\t") for line in capsys.readouterr().out.splitlines()[1:])
    assert list(links) == ["NJ-P01", "NJ-P02"]
    assert Path(links["NJ-P01"]) == tmp_path / "NJ-P01-wechat.png"
    assert Path(links["NJ-P01"]).read_bytes() == qr_png(qr.url)
    assert links["NJ-P02"].startswith("https://t.me/trial_bot?start=")
    engine = make_engine(db_url)
    try:
        with read_session(engine) as session:
            token = qr.scene.removeprefix(JOIN_SCENE)
            invite = services.invite_by_token(session, token)
            patient = services.patient_by_study_id(session, "NJ-P01")
            assert invite is not None and patient is not None
            assert invite.patient_id == patient.id
    finally:
        engine.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("channel", "message"),
    [
        ("wechat", "WeChat is not set up"),
        ("signal", "line 2: signal is not a channel: write telegram or wechat"),
    ],
)
def test_a_wechat_row_without_wechat_or_an_unknown_channel_enrolls_nobody(
    db_url: URL,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    channel: str,
    message: str,
) -> None:
    for name in ("WECHAT_APP_ID", "WECHAT_APP_SECRET", "WECHAT_TOKEN", "WECHAT_ENCODING_AES_KEY"):
        monkeypatch.delenv(name, raising=False)
    code = _run(
        db_url,
        tmp_path,
        monkeypatch,
        f"P01,mt_only,{TODAY},F,60,zh,no,{BORN_CONSENT},{channel}\n",
        header=HEADER.replace("\n", ",channel\n"),
    )
    assert code == 2
    assert message in capsys.readouterr().err
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        assert count(engine, Patient) == 0
    finally:
        engine.dispose()
