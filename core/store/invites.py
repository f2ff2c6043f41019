"""One-time invitations: how a patient or a member of staff joins the bot.

A token is random (``secrets``), used once, expires (7 days by default) and is
stored only as its SHA-256 hash: a leaked database does not leak working
links. Redeeming binds the channel account (Telegram, WeChat, WeCom) to the
patient, or creates the staff member with the invited role, in one audited transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlmodel import select

from core.store.identities import accounts_of, bind_account, identity
from core.store.models import (
    Channel,
    Invite,
    InviteRole,
    Language,
    Patient,
    PatientStatus,
    Staff,
    StaffRole,
    person_key,
)
from core.store.services import hash_token
from core.store.uow import UnitOfWork

DEFAULT_VALIDITY = timedelta(days=7)
# The channels staff may join on: patients in mainland China are reached through the
# hospital's WeChat Official Account, staff through Telegram or a WeCom application
# (docs/DESIGN.md §1, "Channels"), so a staff invitation is never redeemed on WeChat.
STAFF_CHANNELS = frozenset(set(Channel) - {Channel.WECHAT})
# WeCom is the hospital's own app for its staff: a patient never joins there.
PATIENT_CHANNELS = frozenset(set(Channel) - {Channel.WECOM})
# Telegram deep links carry up to 64 characters of [A-Za-z0-9_-]; 32 random
# bytes in URL-safe base64 are 43 of them.
TOKEN_BYTES = 32


class Redemption(StrEnum):
    """What happened when someone opened an invitation link."""

    JOINED_AS_PATIENT = "joined_as_patient"
    JOINED_AS_STAFF = "joined_as_staff"
    INVALID = "invalid"
    USED = "used"
    EXPIRED = "expired"
    ALREADY_REGISTERED = "already_registered"  # this channel account already has a role
    PATIENT_TAKEN = "patient_taken"  # the patient has another account on this channel
    PATIENT_INACTIVE = "patient_inactive"  # withdrawn or completed
    PATIENTS_ONLY = "patients_only"  # a staff invitation opened on a patients' channel
    STAFF_ONLY = "staff_only"  # a patient's invitation sent to the staff's WeCom app
    LINKED = "linked"  # a member of staff added their account on another channel
    ALREADY_LINKED = "already_linked"  # the member has an account on this channel already


@dataclass(frozen=True, slots=True)
class RedeemResult:
    outcome: Redemption
    patient: Patient | None = None
    staff: Staff | None = None


def create_invite(
    uow: UnitOfWork,
    role: InviteRole,
    *,
    patient: Patient | None = None,
    staff: Staff | None = None,
    validity: timedelta = DEFAULT_VALIDITY,
) -> str:
    """Store a new invitation and return its token (shown once, never stored).

    With ``staff``, the invitation links an account on another channel to that
    member of staff (``/link``) instead of making a new member.
    """
    if (role == InviteRole.PATIENT) != (patient is not None):
        raise ValueError("a patient invite names its patient; a staff invite names none")
    if staff is not None and (staff.id is None or role.value != staff.role.value):
        raise ValueError("a link invitation is for a member of staff, in their own role")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    uow.add(
        Invite(
            token_hash=hash_token(token),
            role=role,
            patient_id=patient.id if patient else None,
            staff_id=staff.id if staff else None,
            created_by=uow.actor,
            created_at=uow.now,
            expires_at=uow.now + validity,
        ),
        "invite.created",
    )
    return token


def redeem_invite(
    uow: UnitOfWork,
    token: str,
    *,
    channel: Channel,
    account: str,
    chat: str,
    language: Language | None = None,
) -> RedeemResult:
    """Join with a token: valid, unused and unexpired, by an account without a role.

    The account (``account`` on ``channel``, written to in ``chat``) becomes the
    patient's or the new member's, and their preferred channel. A patient has
    at most one account per channel (a patient moved from Telegram to WeChat
    keeps their Telegram account); staff join only on :data:`STAFF_CHANNELS`,
    patients only on :data:`PATIENT_CHANNELS`.

    Anything else changes nothing and says why.
    """
    session = uow.session
    invite = session.exec(select(Invite).where(Invite.token_hash == hash_token(token))).first()
    if invite is None:
        return RedeemResult(Redemption.INVALID)
    if invite.used_at is not None:
        return RedeemResult(Redemption.USED)
    if invite.expires_at <= uow.now:
        return RedeemResult(Redemption.EXPIRED)
    if identity(session, channel, account) is not None:
        return RedeemResult(Redemption.ALREADY_REGISTERED)

    if invite.role == InviteRole.PATIENT:
        if channel not in PATIENT_CHANNELS:
            return RedeemResult(Redemption.STAFF_ONLY)
        patient = session.get(Patient, invite.patient_id)
        assert patient is not None  # a foreign key
        if any(account.channel == channel for account in accounts_of(session, patient)):
            return RedeemResult(Redemption.PATIENT_TAKEN)
        if patient.status != PatientStatus.ACTIVE:
            return RedeemResult(Redemption.PATIENT_INACTIVE)
        bind_account(uow, patient, channel, account, chat)
        _use(uow, invite, person_key(channel, account))
        return RedeemResult(Redemption.JOINED_AS_PATIENT, patient=patient)

    if channel not in STAFF_CHANNELS:
        return RedeemResult(Redemption.PATIENTS_ONLY)
    if invite.staff_id is not None:
        member = session.get(Staff, invite.staff_id)
        assert member is not None  # a foreign key
        if not member.active:
            return RedeemResult(Redemption.INVALID)
        if any(account.channel == channel for account in accounts_of(session, member)):
            return RedeemResult(Redemption.ALREADY_LINKED)
        # Their alerts come to the channel they have just linked, as to one they join on.
        bind_account(uow, member, channel, account, chat)
        _use(uow, invite, person_key(channel, account))
        return RedeemResult(Redemption.LINKED, staff=member)
    staff = uow.add(
        Staff(
            role=StaffRole(invite.role.value),
            language=language,
            created_at=uow.now,
        ),
        "staff.joined",
    )
    bind_account(uow, staff, channel, account, chat)
    _use(uow, invite, person_key(channel, account))
    return RedeemResult(Redemption.JOINED_AS_STAFF, staff=staff)


def _use(uow: UnitOfWork, invite: Invite, account: str) -> None:
    uow.update(invite, "invite.used", used_at=uow.now, used_by=account)
