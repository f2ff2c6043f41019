"""Escalation steps: when each becomes due, and that downtime sends one, not a burst."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.escalation import (
    Step,
    due_step,
    infusion_confirmation_step,
    serious_event_steps,
    urine_nudge_step,
)
from core.protocol import BUNDLED_PROTOCOL, ProtocolError, parse_protocol

SHANGHAI = ZoneInfo("Asia/Shanghai")
AWARE = datetime(2026, 12, 20, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def test_serious_event_reminders_at_1_4_12_hours_and_the_deadline() -> None:
    steps = serious_event_steps(AWARE, [1, 4, 12], 24)
    assert [(s.name, s.due - AWARE) for s in steps] == [
        ("1h", timedelta(hours=1)),
        ("4h", timedelta(hours=4)),
        ("12h", timedelta(hours=12)),
        ("deadline", timedelta(hours=24)),
    ]


@pytest.mark.parametrize(
    ("elapsed", "sent", "expected", "covered"),
    [
        (timedelta(minutes=59), set(), None, []),
        (timedelta(hours=1), set(), "1h", ["1h"]),
        (timedelta(hours=2), {"1h"}, None, []),
        (timedelta(hours=4), {"1h"}, "4h", ["4h"]),
        # After downtime: one reminder, the latest, covering the earlier ones.
        (timedelta(hours=13), set(), "12h", ["1h", "4h", "12h"]),
        (timedelta(hours=30), {"1h", "4h", "12h"}, "deadline", ["deadline"]),
        (timedelta(hours=30), {"1h", "4h", "12h", "deadline"}, None, []),
    ],
)
def test_due_step(
    elapsed: timedelta, sent: set[str], expected: str | None, covered: list[str]
) -> None:
    step, done = due_step(serious_event_steps(AWARE, [1, 4, 12], 24), sent, AWARE + elapsed)
    assert (step.name if step else None) == expected
    assert [s.name for s in done] == covered


def test_nothing_is_due_after_the_event_began() -> None:
    step = infusion_confirmation_step(date(2026, 12, 15), time(21, 0), SHANGHAI)
    assert step.due == datetime(2026, 12, 14, 21, 0, tzinfo=SHANGHAI)
    infusion = datetime(2026, 12, 15, 9, 0, tzinfo=SHANGHAI)
    assert due_step([step], set(), step.due, until=infusion)[0] == step
    assert due_step([step], set(), infusion, until=infusion) == (None, [])
    assert due_step([step], set(), step.due - timedelta(seconds=1), until=infusion) == (None, [])


def test_urine_nudge_at_noon_of_the_collection_day() -> None:
    assert urine_nudge_step(date(2026, 12, 28), time(12, 0), SHANGHAI) == Step(
        "not_started", datetime(2026, 12, 28, 12, 0, tzinfo=SHANGHAI)
    )


def test_escalation_settings_are_validated() -> None:
    text = BUNDLED_PROTOCOL.read_text(encoding="utf-8")
    with pytest.raises(ProtocolError, match=r"before adverse_events\.serious_report_hours"):
        parse_protocol(
            text.replace("sae_reminder_hours = [1, 4, 12]", "sae_reminder_hours = [1, 4, 30]")
        )
    with pytest.raises(ProtocolError, match="increasing"):
        parse_protocol(
            text.replace("sae_reminder_hours = [1, 4, 12]", "sae_reminder_hours = [4, 1]")
        )
    with pytest.raises(ProtocolError, match="quiet hours"):
        parse_protocol(
            text.replace('urine_start_nudge_at = "12:00"', 'urine_start_nudge_at = "23:00"')
        )
