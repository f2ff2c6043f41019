"""Who may use which command: the authorization table, written once.

Every command the bot answers is a row here; a command that is not here does
not exist. The tests walk every cell of this table (command x role, and
people with no role at all).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from core.vocabulary import STAFF_ROLES
from core.vocabulary import Role as Role

STAFF: Final = frozenset(STAFF_ROLES)
ANY_ROLE: Final = frozenset(Role)

# None stands for someone without a role (not invited, or not yet joined).
Audience = frozenset[Role | None]

COMMANDS: Final[MappingProxyType[str, Audience]] = MappingProxyType(
    {
        # Joining and the basics: everyone, so a stranger learns how to join.
        "start": frozenset({*Role, None}),
        "help": frozenset({*Role, None}),
        "lang": frozenset(ANY_ROLE),
        # The patient's own data: only the patient.
        "schedule": frozenset({Role.PATIENT}),
        "calendar": frozenset({Role.PATIENT}),
        # A patient reports a symptom; a coordinator asks for the safety-review report
        # (/report pdf). One word, two meanings, each for its own role only.
        "report": frozenset({Role.PATIENT, Role.COORDINATOR}),
        # Whom to call: the site's contacts, for patients (WeChat's menu offers it too).
        "contacts": frozenset({Role.PATIENT}),
        # Enrolling, inviting, withdrawing, moving events, acknowledging serious AEs,
        # moving a patient's reminders to another channel.
        "enroll": frozenset({Role.COORDINATOR}),
        "channel": frozenset({Role.COORDINATOR}),
        "invite": frozenset({Role.COORDINATOR}),
        "withdraw": frozenset({Role.COORDINATOR}),
        "reschedule": frozenset({Role.COORDINATOR}),
        # What became of a visit: missed (with the reason) or attended.
        "visit": frozenset({Role.COORDINATOR}),
        "ack": frozenset({Role.COORDINATOR}),
        # The study team: who has access; ending it; revoking an invitation.
        "staff": frozenset({Role.COORDINATOR}),
        # One member of staff on both staff channels: every member, for themselves.
        "link": frozenset(STAFF),
        # Clinical data entry: nurses, investigators and coordinators.
        "ae": frozenset(STAFF),
        "labs": frozenset(STAFF),
        "dose": frozenset(STAFF),
        "weight": frozenset(STAFF),
        "sledai": frozenset(STAFF),
        "cd20": frozenset(STAFF),
        # Correcting a stored value, with its reason (audited).
        "correct": frozenset(STAFF),
        # The trial at a glance: coordinators; patient reports and their triage: all staff.
        "status": frozenset({Role.COORDINATOR}),
        "reports": frozenset(STAFF),
        "triage": frozenset(STAFF),
        # Endpoint summaries and charts: coordinators and investigators; data exports:
        # coordinators only.
        "summary": frozenset({Role.COORDINATOR, Role.INVESTIGATOR}),
        "plot": frozenset({Role.COORDINATOR, Role.INVESTIGATOR}),
        "export": frozenset({Role.COORDINATOR}),
    }
)


def may(role: Role | None, command: str) -> bool:
    """True if someone with ``role`` may use ``command`` (unknown commands: nobody)."""
    return role in COMMANDS.get(command, frozenset())


def commands_for(role: Role | None) -> list[str]:
    """The commands someone with ``role`` may use, in the table's order."""
    return [command for command, audience in COMMANDS.items() if role in audience]
