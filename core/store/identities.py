"""Who is behind a channel account, and where to reach a person.

A person (a patient or a member of staff) is known on each channel by that
channel's own id of them (a Telegram user id, a WeChat openid, a WeCom
userid) and is written to in that channel's chat. Nothing here names a
person: an account is a channel and an opaque id (docs/DESIGN.md §4).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from core.store.models import Channel, ChannelIdentity, Patient, Staff
from core.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Reach:
    """Where one message to a person goes: a channel and the chat on it."""

    channel: Channel
    chat: str


def identity(session: Session, channel: Channel, account: str) -> ChannelIdentity | None:
    """The channel account ``account`` on ``channel``, if the bot knows it."""
    return session.exec(
        select(ChannelIdentity)
        .where(ChannelIdentity.channel == channel)
        .where(ChannelIdentity.account == account)
    ).first()


def patient_by_account(session: Session, channel: Channel, account: str) -> Patient | None:
    """The patient who joined with this account (whatever their status)."""
    found = identity(session, channel, account)
    if found is None or found.patient_id is None:
        return None
    return session.get(Patient, found.patient_id)


def staff_by_account(session: Session, channel: Channel, account: str) -> Staff | None:
    """The member of staff who joined with this account (active or not)."""
    found = identity(session, channel, account)
    if found is None or found.staff_id is None:
        return None
    return session.get(Staff, found.staff_id)


def accounts_of(session: Session, person: Patient | Staff) -> list[ChannelIdentity]:
    """Every channel account of a person, oldest first."""
    column = ChannelIdentity.patient_id if isinstance(person, Patient) else ChannelIdentity.staff_id
    return list(
        session.exec(
            select(ChannelIdentity).where(column == person.id).order_by(col(ChannelIdentity.id))
        ).all()
    )


def reach_of(session: Session, person: Patient | Staff) -> Reach | None:
    """Where the bot writes to a person unasked: their preferred channel's chat.

    Reminders, alerts, escalations and digests all go this way; None when the
    person has no account on their preferred channel (a patient who has not
    joined yet).
    """
    if person.preferred_channel is None:
        return None
    for account in accounts_of(session, person):
        if account.channel == person.preferred_channel:
            return Reach(account.channel, account.chat)
    return None


def bind_account(
    uow: UnitOfWork, person: Patient | Staff, channel: Channel, account: str, chat: str
) -> ChannelIdentity:
    """Give ``person`` the channel account ``account``; ``channel`` becomes their preferred one.

    The caller has checked that the account belongs to nobody yet (an
    invitation is redeemed only by an account without a role).
    """
    assert person.id is not None
    is_patient = isinstance(person, Patient)
    bound = uow.add(
        ChannelIdentity(
            channel=channel,
            account=account,
            chat=chat,
            patient_id=person.id if is_patient else None,
            staff_id=None if is_patient else person.id,
            created_at=uow.now,
        ),
        "identity.bound",
    )
    if person.preferred_channel != channel:
        uow.update(person, "identity.preferred", preferred_channel=channel)
    return bound


def account_on(
    session: Session, person: Patient | Staff, channel: Channel
) -> ChannelIdentity | None:
    """The person's account on ``channel``, if they have joined there."""
    return next((a for a in accounts_of(session, person) if a.channel == channel), None)


def prefer_channel(uow: UnitOfWork, person: Patient | Staff, channel: Channel) -> bool:
    """Reach ``person`` on ``channel`` from now on; False (nothing changed) without an account there.

    Everything sent unasked follows at once: :func:`reach_of` reads the
    preferred channel at every send.
    """
    if account_on(uow.session, person, channel) is None:
        return False
    uow.update(person, "identity.preferred", preferred_channel=channel)
    return True


def is_joined(patient: Patient) -> bool:
    """A patient has joined once they have an account to be reminded on."""
    return patient.preferred_channel is not None
