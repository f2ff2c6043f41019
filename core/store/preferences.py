"""What a person chose for themselves: the language the bot writes to them in."""

from __future__ import annotations

from core.store.models import Language, Patient, Staff
from core.store.uow import UnitOfWork


def set_language(
    uow: UnitOfWork, person: type[Patient] | type[Staff], row_id: int, language: Language
) -> Patient | Staff:
    """Store a patient's or a staff member's language (``language.chosen``; unchanged: no record)."""
    row: Patient | Staff | None = (
        uow.session.get(Patient, row_id) if person is Patient else uow.session.get(Staff, row_id)
    )
    if row is None:
        raise LookupError(f"no {person.__name__} {row_id}")
    return uow.update(row, "language.chosen", language=language)
