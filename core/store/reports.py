"""Patient reports: filed by the patient (``/report``), triaged by staff (``/triage``).

Each writer takes a :class:`~core.store.uow.UnitOfWork` and plain values (one
transaction with its audit records). Stored values are stable English keys,
never translated text. A report is open until staff triage it once: it becomes
an adverse event (converted, linked to it) or is closed with a note.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo

from sqlmodel import Session, col, select

from core.messages import N_, RuleError
from core.schedule import trial_today
from core.store.clinical import AdverseEventEntry, add_adverse_event
from core.store.models import (
    AdverseEvent,
    AttachmentKind,
    Channel,
    DoseAdministration,
    Drug,
    Patient,
    PatientReport,
    ReportAttachment,
    TriageStatus,
)
from core.store.uow import UnitOfWork

log = logging.getLogger(__name__)

# What a red-flag report stores in the columns the short path does not ask.
RED_FLAG_SEVERITY = "not_asked"
RED_FLAG_ONSET = "now"
# What a report the patient simply wrote to the bot (not through /report) stores:
# category "other", severity and onset not asked.
WRITTEN_CATEGORY = "other"
NOT_ASKED = "not_asked"


@dataclass(frozen=True, slots=True)
class ReportFile:
    """A file the patient sent with a report, as their channel names it."""

    channel: Channel
    kind: AttachmentKind
    file_id: str


def file_patient_report(
    uow: UnitOfWork,
    patient_id: int,
    *,
    category: str,
    severity: str,
    onset: str,
    details: str | None,
    files: Sequence[ReportFile] = (),
) -> PatientReport:
    """A report the patient completed: open for triage (``patient_report.created``),
    with the files they sent (``report_attachment.created`` each)."""
    report = uow.add(
        PatientReport(
            patient_id=patient_id,
            category=category,
            severity=severity,
            onset=onset,
            free_text=details,
            red_flag=False,
            triage_status=TriageStatus.OPEN,
            created_at=uow.now,
        ),
        "patient_report.created",
    )
    assert report.id is not None
    for file in files:
        uow.add(
            ReportAttachment(
                report_id=report.id,
                channel=file.channel,
                kind=file.kind,
                file_id=file.file_id,
                created_at=uow.now,
            ),
            "report_attachment.created",
        )
    return report


def file_written_report(
    uow: UnitOfWork, patient_id: int, text: str | None, files: Sequence[ReportFile] = ()
) -> PatientReport:
    """What the patient wrote to the bot outside /report, sent on their Yes: a report
    about "something else", severity and onset not asked, open for triage."""
    return file_patient_report(
        uow,
        patient_id,
        category=WRITTEN_CATEGORY,
        severity=NOT_ASKED,
        onset=NOT_ASKED,
        details=text,
        files=files,
    )


def is_written(report: PatientReport) -> bool:
    """Whether the patient wrote this report to the bot rather than through /report."""
    return not report.red_flag and report.severity == NOT_ASKED


def attachments_of(
    session: Session, report_ids: Sequence[int]
) -> dict[int, list[ReportAttachment]]:
    """The files sent with each of these reports, in the order they came."""
    found: dict[int, list[ReportAttachment]] = {}
    if not report_ids:
        return found
    rows = session.exec(
        select(ReportAttachment)
        .where(col(ReportAttachment.report_id).in_(report_ids))
        .order_by(col(ReportAttachment.id))
    ).all()
    for row in rows:
        found.setdefault(row.report_id, []).append(row)
    return found


def file_red_flag_report(uow: UnitOfWork, patient_id: int, flag: str) -> PatientReport:
    """A red flag happening now (``patient_report.red_flag``): open, severity not asked."""
    return uow.add(
        PatientReport(
            patient_id=patient_id,
            category=flag,
            severity=RED_FLAG_SEVERITY,
            onset=RED_FLAG_ONSET,
            red_flag=True,
            triage_status=TriageStatus.OPEN,
            created_at=uow.now,
        ),
        "patient_report.red_flag",
    )


def record_staff_alerted(uow: UnitOfWork, report_id: int, sent: int, *, urgent: bool) -> None:
    """Keep in the audit trail how many members of staff a report's alert reached
    (``patient_report.staff_alerted``; the report row itself does not change)."""
    uow.audit(
        "patient_report.staff_alerted",
        "patient_report",
        str(report_id),
        after={"sent": sent, "urgent": urgent},
    )


def check_open(report: PatientReport | None, number: int) -> PatientReport:
    """The report, if it exists and is still open; else the reason why it cannot be triaged."""
    if report is None:
        raise RuleError(N_("There is no patient report R{number}."), number=number)
    if report.triage_status == TriageStatus.CONVERTED:
        raise RuleError(
            N_("Report R{number} was already triaged: it became adverse event AE{ae}."),
            number=number,
            ae=report.linked_ae_id or "?",
        )
    if report.triage_status != TriageStatus.OPEN:
        raise RuleError(N_("Report R{number} was already triaged: it is closed."), number=number)
    return report


def _open_report(uow: UnitOfWork, report_id: int) -> PatientReport:
    """The report inside the storing transaction; refused if triaged meanwhile."""
    return check_open(uow.session.get(PatientReport, report_id), report_id)


def convert_report_to_adverse_event(
    uow: UnitOfWork, report_id: int, entry: AdverseEventEntry
) -> tuple[AdverseEvent, Patient]:
    """The report becomes an adverse event; the report is marked converted and linked to it.

    The site became aware when the patient reported, so the event's
    ``awareness_at`` is the report's time (a serious event's reporting clock
    runs from then, docs/clinical-facts.md §6). Refuses a report already
    triaged and a grade the term does not have.
    """
    report = _open_report(uow, report_id)
    patient = uow.session.get(Patient, report.patient_id)
    assert patient is not None
    event = add_adverse_event(uow, report.patient_id, entry, report.created_at)
    assert event.id is not None
    uow.update(
        report,
        "patient_report.converted",
        triage_status=TriageStatus.CONVERTED,
        linked_ae_id=event.id,
        triaged_by=uow.actor,
        triaged_at=uow.now,
    )
    log.info("report %s of %s became AE%d", report.id, patient.study_id, event.id)
    return event, patient


def close_report(uow: UnitOfWork, report_id: int, note: str) -> PatientReport:
    """Close the report with staff's note (``patient_report.closed``)."""
    report = _open_report(uow, report_id)
    uow.update(
        report,
        "patient_report.closed",
        triage_status=TriageStatus.CLOSED,
        triage_note=note,
        triaged_by=uow.actor,
        triaged_at=uow.now,
    )
    log.info("report %s closed", report.id)
    return report


def recent_belimumab_infusion(
    session: Session, patient_id: int, today: date, days: int, zone: tzinfo
) -> date | None:
    """The last belimumab infusion given within ``days`` days up to ``today``, if any.

    A dose without ``given_on`` counts on its ``given_at`` day in ``zone``.
    """
    since = today - timedelta(days=days)
    rows = session.exec(
        select(DoseAdministration)
        .where(DoseAdministration.patient_id == patient_id)
        .where(DoseAdministration.drug == Drug.BELIMUMAB)
    ).all()
    given = [
        row.given_on
        if row.given_on is not None
        else trial_today(row.given_at, zone)
        if row.given_at is not None
        else None
        for row in rows
    ]
    return max((d for d in given if d is not None and since <= d <= today), default=None)
