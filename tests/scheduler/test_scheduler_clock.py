"""The rehearsal clock, the periodic job schedules, and the clock's saved position."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import SQLModel

from bot.runner import NotConfigured, rehearsal_clock
from bot.settings import Settings
from core.store.db import make_engine, read_session
from core.store.uow import UnitOfWork
from scheduler.clock import (
    FakeClock,
    FakeMonotonic,
    RehearsalClock,
    real_seconds,
    speed_of,
    trial_span,
)
from scheduler.jobs import daily_at, every, latest_due
from scheduler.rehearsal import resume_point, save_position

SH = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 12, 1, 6, 0, tzinfo=SH)


def test_the_rehearsal_clock_runs_speed_times_faster() -> None:
    real = FakeMonotonic(50.0)
    clock = RehearsalClock(START, 3600, real_monotonic=real)
    assert clock.now() == START
    assert clock.now().tzinfo == UTC
    real.value += 2.5
    assert clock.now() == START + timedelta(hours=2, minutes=30)
    assert speed_of(clock) == 3600
    assert real_seconds(clock, timedelta(hours=1)) == pytest.approx(1.0)
    assert trial_span(clock, 60) == timedelta(hours=60)


def test_real_and_fake_clocks_run_at_real_speed() -> None:
    assert speed_of(FakeClock(START)) == 1.0
    assert real_seconds(FakeClock(START), timedelta(minutes=2)) == 120.0


@pytest.mark.parametrize(
    ("start", "speed"), [(datetime(2026, 12, 1), 10.0), (START, 0.0), (START, -1.0)]
)
def test_the_rehearsal_clock_refuses_nonsense(start: datetime, speed: float) -> None:
    with pytest.raises(ValueError, match=r"aware|positive"):
        RehearsalClock(start, speed)


def test_every_runs_on_a_grid() -> None:
    schedule = every(timedelta(minutes=15), anchor=START)
    assert schedule(START) == START + timedelta(minutes=15)
    assert schedule(START + timedelta(minutes=14)) == START + timedelta(minutes=15)
    assert schedule(START + timedelta(minutes=15)) == START + timedelta(minutes=30)
    with pytest.raises(ValueError, match="positive"):
        every(timedelta(0))


def test_daily_at_is_wall_time_in_the_trial_zone() -> None:
    schedule = daily_at(time(8, 30), SH)
    assert schedule(START) == datetime(2026, 12, 1, 8, 30, tzinfo=SH)
    assert schedule(datetime(2026, 12, 1, 8, 30, tzinfo=SH)) == datetime(
        2026, 12, 2, 8, 30, tzinfo=SH
    )


def test_latest_due_collapses_missed_runs_into_one() -> None:
    schedule = daily_at(time(8, 30), SH)
    last = datetime(2026, 12, 1, 8, 30, tzinfo=SH)
    assert latest_due(schedule, last, last + timedelta(hours=23)) is None
    assert latest_due(schedule, last, last + timedelta(days=5, hours=1)) == last + timedelta(days=5)


def test_resume_point_is_the_saved_position_or_anything_recorded_later(tmp_path: Path) -> None:
    db = make_engine(f"sqlite:///{tmp_path / 'trial.db'}")
    SQLModel.metadata.create_all(db)
    real = FakeMonotonic(0.0)
    clock = RehearsalClock(START, 3600, real_monotonic=real)
    with read_session(db) as session:
        assert resume_point(session) is None
    real.value += 1.0
    with UnitOfWork(db, "system", clock.now()) as uow:
        save_position(uow, clock)
    with read_session(db) as session:
        point = resume_point(session)
    assert point is not None
    assert (point.position, point.speed) == (START + timedelta(hours=1), 3600.0)
    # Something recorded after the last save (then a crash): resume from there.
    later = START + timedelta(hours=1, minutes=40)
    with UnitOfWork(db, "system", later) as uow:
        uow.audit("reminder.sent", "reminder", "1")
    with read_session(db) as session:
        point = resume_point(session)
    assert point is not None
    assert point.position == later
    db.dispose()


def _settings(tmp_path: Path, base_url: str | None) -> Settings:
    return Settings.model_validate(
        {
            "TELEGRAM_BASE_URL": base_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'trial.db'}",
        }
    )


@pytest.mark.parametrize(
    "base_url", [None, "https://api.telegram.org/bot", "http://10.0.0.5:8081/bot"]
)
def test_the_rehearsal_clock_is_refused_unless_the_server_is_local(
    tmp_path: Path, base_url: str | None
) -> None:
    with pytest.raises(NotConfigured, match="local Bot API server"):
        rehearsal_clock(_settings(tmp_path, base_url), START, 3600)
    assert rehearsal_clock(_settings(tmp_path, base_url)) is None


def test_rehearsal_clock_from_the_command_line(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "http://127.0.0.1:8081/bot")
    clock = rehearsal_clock(settings, START, 3600)
    assert clock is not None
    assert clock.speed == 3600
    assert abs(clock.now() - START) < timedelta(hours=1)
    with pytest.raises(NotConfigured, match=r"no rehearsal to resume"):
        rehearsal_clock(settings, None, None, resume=True)
    with pytest.raises(NotConfigured, match="--clock-start"):
        rehearsal_clock(settings, None, 60)
