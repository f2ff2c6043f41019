"""The trial's tables (SQLModel), as the store's requirements list them, by area.

- :mod:`~core.store.models.conventions`: the conventions every table follows
  (keys, instants, clinical numbers, closed vocabularies, constraint names);
- :mod:`~core.store.models.people`: patients, staff, invites, channel accounts;
- :mod:`~core.store.models.plan`: planned events and the reminder outbox;
- :mod:`~core.store.models.clinical`: doses, labs, assessments, protocol
  deviations, adverse events, patient reports;
- :mod:`~core.store.models.audit`: the audit chain;
- :mod:`~core.store.models.running`: running state (chat flows, entries waiting
  for Confirm, settings, escalation notices, the process lock);
- :mod:`~core.store.models.wechat`: the WeChat channel's pushes until handled
  and the option menus it sent.

Every name is re-exported here: ``from core.store.models import Patient``.
:data:`METADATA` is the schema with every table declared: what Alembic
migrates to and the tests compare against.

Schema changes are Alembic migrations (``migrations/``); a test checks that
these models and the migrations agree.
"""

# The conventions first: the naming convention must be set before any table is
# declared (every module of tables imports them first too).
from core.store.models.conventions import (
    ACCOUNT_LENGTH,
    ACTOR_LENGTH,
    NAMING_CONVENTION,
    PERSON_KEY_LENGTH,
)

# isort: split

from sqlmodel import SQLModel

from core.store.models.audit import AuditHead, AuditRecord
from core.store.models.clinical import (
    AdverseEvent,
    AttachmentKind,
    Cd20Count,
    Cd20Unit,
    DeviationEntry,
    DoseAdministration,
    Drug,
    LabResult,
    PatientReport,
    ProtocolDeviation,
    ReportAttachment,
    SledaiAssessment,
    TriageStatus,
)
from core.store.models.people import (
    Channel,
    ChannelIdentity,
    Invite,
    InviteRole,
    Language,
    Patient,
    PatientStatus,
    Sex,
    Staff,
    StaffRole,
    person_key,
    study_id_is,
)
from core.store.models.plan import (
    HAS_MESSAGE,
    RETRY_WAITING,
    EventStatus,
    PlannedEventRow,
    Reminder,
    ReminderStatus,
)
from core.store.models.running import (
    ActionStatus,
    Conversation,
    EscalationNotice,
    PendingAction,
    ProcessLock,
    Setting,
)
from core.store.models.wechat import WechatMenu, WechatPush

# Read after every module above has declared its tables.
METADATA = SQLModel.metadata

__all__ = [
    "ACCOUNT_LENGTH",
    "ACTOR_LENGTH",
    "HAS_MESSAGE",
    "NAMING_CONVENTION",
    "PERSON_KEY_LENGTH",
    "RETRY_WAITING",
    "ActionStatus",
    "AdverseEvent",
    "AttachmentKind",
    "AuditHead",
    "AuditRecord",
    "Cd20Count",
    "Cd20Unit",
    "Channel",
    "ChannelIdentity",
    "Conversation",
    "DeviationEntry",
    "DoseAdministration",
    "Drug",
    "EscalationNotice",
    "EventStatus",
    "Invite",
    "InviteRole",
    "LabResult",
    "Language",
    "Patient",
    "PatientReport",
    "PatientStatus",
    "PendingAction",
    "PlannedEventRow",
    "ProcessLock",
    "ProtocolDeviation",
    "Reminder",
    "ReminderStatus",
    "ReportAttachment",
    "Setting",
    "Sex",
    "SledaiAssessment",
    "Staff",
    "StaffRole",
    "TriageStatus",
    "WechatMenu",
    "WechatPush",
    "person_key",
    "study_id_is",
]
