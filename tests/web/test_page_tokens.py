"""Links to a patient's pages: signed, expiring, and good for one patient and reminder only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.settings import SettingError, Settings, derived_secret
from bot.web.page_tokens import (
    BadSignature,
    ExpiredToken,
    MalformedToken,
    PageToken,
    issue,
    verify,
)

SECRET = b"k" * 32
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=3)


def test_a_token_opens_what_it_was_issued_for() -> None:
    token = issue(SECRET, 42, 7, LATER)
    assert verify(SECRET, token, NOW) == PageToken(7, 42, LATER)


def test_a_token_without_a_reminder_opens_the_patients_pages_only() -> None:
    assert verify(SECRET, issue(SECRET, None, 7, LATER), NOW) == PageToken(7, None, LATER)


def test_tokens_are_url_safe_and_short_enough_for_a_template_link() -> None:
    token = issue(SECRET, 4_000_000_000, 4_000_000_000, LATER)
    assert len(token) <= 44
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_an_expired_token_is_refused() -> None:
    token = issue(SECRET, 42, 7, LATER)
    with pytest.raises(ExpiredToken):
        verify(SECRET, token, LATER)
    assert verify(SECRET, token, LATER - timedelta(seconds=1)).patient_id == 7


def test_another_secret_is_a_bad_signature() -> None:
    with pytest.raises(BadSignature):
        verify(b"x" * 32, issue(SECRET, 42, 7, LATER), NOW)


def _swap(token: str, reminder: int | None, patient: int, expires: datetime) -> str:
    """The token's MAC on other fields: what a patient editing their link would try."""
    other = issue(b"attacker" * 4, reminder, patient, expires)
    return other[:23] + token[23:]


@pytest.mark.parametrize(
    ("reminder", "patient", "expires"),
    [(43, 7, LATER), (42, 8, LATER), (None, 7, LATER), (42, 7, LATER + timedelta(days=1))],
    ids=["other reminder", "other patient", "no reminder", "later expiry"],
)
def test_a_token_is_useless_for_any_other_patient_reminder_or_time(
    reminder: int | None, patient: int, expires: datetime
) -> None:
    token = issue(SECRET, 42, 7, LATER)
    forged = _swap(token, reminder, patient, expires)
    assert forged != token
    with pytest.raises(BadSignature):
        verify(SECRET, forged, NOW)


@pytest.mark.parametrize(
    "token",
    ["", "abc", "!" * 44, "A" * 43 + "=", "A" * 45, "é" * 44, "A" * 44],
    ids=["empty", "short", "alphabet", "padding", "long", "non-ascii", "zero version"],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(MalformedToken):
        verify(SECRET, token, NOW)


def test_a_token_with_an_altered_signature_is_refused() -> None:
    token = issue(SECRET, 42, 7, LATER)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    other = token[:-1] + alphabet[(alphabet.index(token[-1]) + 1) % 64]
    with pytest.raises(BadSignature):
        verify(SECRET, other, NOW)


def test_issue_refuses_what_it_cannot_sign() -> None:
    with pytest.raises(ValueError, match="time zone"):
        issue(SECRET, 1, 1, datetime(2026, 12, 1))
    with pytest.raises(ValueError, match="patient id"):
        issue(SECRET, 1, 0, LATER)
    with pytest.raises(ValueError, match="reminder id"):
        issue(SECRET, 2**32, 1, LATER)
    with pytest.raises(ValueError, match="empty"):
        issue(b"", 1, 1, LATER)


@given(
    reminder=st.none() | st.integers(1, 2**32 - 1),
    patient=st.integers(1, 2**32 - 1),
    seconds=st.integers(1, 10**9),
)
def test_round_trip(reminder: int | None, patient: int, seconds: int) -> None:
    expires = NOW + timedelta(seconds=seconds)
    got = verify(SECRET, issue(SECRET, reminder, patient, expires), NOW)
    assert (got.reminder_id, got.patient_id) == (reminder, patient)
    assert got.expires_at == datetime.fromtimestamp(int(expires.timestamp()), UTC)


def test_page_secret_is_used_as_given() -> None:
    secret = "s" * 32
    assert Settings.model_validate({"PAGE_SECRET": secret}).page_key() == secret.encode()


def test_page_secret_is_derived_from_the_wechat_app_secret_when_unset() -> None:
    key = Settings.model_validate({"WECHAT_APP_SECRET": "appsecret"}).page_key()
    assert key == derived_secret("appsecret")
    assert b"appsecret" not in key
    assert key != Settings.model_validate({"WECHAT_APP_SECRET": "other"}).page_key()


def test_a_short_or_missing_page_secret_is_named() -> None:
    with pytest.raises(SettingError, match="PAGE_SECRET must be at least 32"):
        Settings.model_validate({"PAGE_SECRET": "short"}).page_key()
    with pytest.raises(SettingError, match="PAGE_SECRET is not set"):
        Settings.model_validate({}).page_key()
