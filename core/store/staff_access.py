"""Who is on the study team, and ending a member's access (GCP: access that ends).

Requirement: "``/staff`` lists staff (role, joined, last active, by Telegram or
WeCom id, never a name); ``/staff remove <id> reason=...`` ends a member's
access at once (their next message gets the stranger's answer); invites can
be revoked." Every change here is audited with who, when and why.

"Last active" is the member's last action the audit trail records (joining,
anything stored or confirmed, a refused command): read from the trail, so
reading it writes nothing; a look at ``/status`` alone is not an action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.messages import N_, RuleError
from core.store.audit import staff_actor
from core.store.identities import accounts_of
from core.store.models import AuditRecord, ChannelIdentity, Invite, Staff
from core.store.uow import UnitOfWork

ACCESS_ENDED = "staff.access_ended"


@dataclass(frozen=True, slots=True)
class Member:
    """One member of the team as /staff shows them: no name, their channel accounts,
    their last recorded action and, for a member removed, when their access ended."""

    staff: Staff
    accounts: tuple[ChannelIdentity, ...]
    last_action: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class Team:
    """The team: members with access, members whose access ended, open invitations."""

    active: tuple[Member, ...]
    ended: tuple[Member, ...]
    open_invites: tuple[Invite, ...]


def team(session: Session, now: datetime) -> Team:
    """Everyone who has or had access, and the staff invitations still usable at ``now``."""
    members = session.exec(select(Staff).order_by(col(Staff.id))).all()
    listed = [
        Member(
            m,
            tuple(accounts_of(session, m)),
            _last_action(session, m),
            None if m.active else _access_ended(session, m),
        )
        for m in members
    ]
    invites = session.exec(
        select(Invite)
        .where(
            col(Invite.patient_id).is_(None),
            col(Invite.used_at).is_(None),
            Invite.expires_at > now,
        )
        .order_by(col(Invite.id))
    ).all()
    return Team(
        active=tuple(m for m in listed if m.staff.active),
        ended=tuple(m for m in listed if not m.staff.active),
        open_invites=tuple(invites),
    )


def _last_action(session: Session, staff: Staff) -> datetime | None:
    assert staff.id is not None
    query = select(func.max(AuditRecord.at)).where(AuditRecord.actor == staff_actor(staff.id))
    return session.exec(query).one()


def _access_ended(session: Session, staff: Staff) -> datetime | None:
    query = select(func.max(AuditRecord.at)).where(
        AuditRecord.entity == "staff",
        AuditRecord.entity_key == str(staff.id),
        AuditRecord.action == ACCESS_ENDED,
    )
    return session.exec(query).one()


def member_to_remove(session: Session, staff_id: int, by: Staff) -> Staff:
    """The member ``/staff remove`` names, else the reason it cannot."""
    member = session.get(Staff, staff_id)
    if member is None:
        raise RuleError(N_("There is no member of staff S{id}."), id=staff_id)
    if member.id == by.id:
        raise RuleError(N_("You cannot end your own access: another coordinator has to do it."))
    if not member.active:
        raise RuleError(N_("S{id}'s access has already ended."), id=staff_id)
    return member


def end_access(uow: UnitOfWork, staff_id: int, by: Staff, reason: str) -> Staff:
    """End a member's access at once: their next message is a stranger's (audited with why).

    What they recorded stays, under their staff id; their unused /link
    invitations die with their access (redeeming one checks ``active``).
    """
    member = member_to_remove(uow.session, staff_id, by)
    uow.update(member, ACCESS_ENDED, reason=reason, active=False)
    return member


def invite_to_revoke(session: Session, invite_id: int, now: datetime) -> Invite:
    """The staff invitation ``/staff revoke`` names, if it can still be used; else why not."""
    invite = session.get(Invite, invite_id)
    if invite is None or invite.patient_id is not None:
        raise RuleError(N_("There is no staff invitation I{id}."), id=invite_id)
    if invite.used_at is not None:
        raise RuleError(
            N_("Invitation I{id} has been used already: end that member's access instead."),
            id=invite_id,
        )
    if invite.expires_at <= now:
        raise RuleError(N_("Invitation I{id} has expired already."), id=invite_id)
    return invite


def revoke_invite(uow: UnitOfWork, invite_id: int, reason: str) -> Invite:
    """Make an unused staff invitation unusable from now on (it expires now, audited with why)."""
    invite = invite_to_revoke(uow.session, invite_id, uow.now)
    uow.update(invite, "invite.revoked", reason=reason, expires_at=uow.now)
    return invite
