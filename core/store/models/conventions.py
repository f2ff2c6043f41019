"""The conventions every table follows, and the column types that carry them.

Conventions:

- integer surrogate keys; natural keys (study ID, channel accounts, token hash)
  are UNIQUE;
- every instant is a :class:`~core.store.types.UtcDateTime` (aware, UTC);
- every clinical number is a :class:`~core.store.types.DecimalText` (the text
  entered, exactly);
- every closed vocabulary (status, role, sex, ...) is a short string with a
  CHECK constraint (``Enum(native_enum=False)``), so a typo cannot land in
  the table and PostgreSQL needs no custom types;
- JSON payloads (SLEDAI items, vial plans, audit before/after) are stored as
  canonical JSON text, so what is hashed is what is stored;
- constraint names follow :data:`NAMING_CONVENTION`, so migrations can refer
  to them on both databases.

Every module of tables imports this one first, so the naming convention is in
place before any table is declared.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from sqlalchemy import CheckConstraint, String
from sqlalchemy import Enum as SAEnum
from sqlmodel import SQLModel

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# Set before any table is declared: names are attached when constraints are.
SQLModel.metadata.naming_convention = NAMING_CONVENTION

ACTOR_LENGTH = 64
# A channel's id of a person (a WeChat openid is 28 characters, a WeCom userid up to 64).
ACCOUNT_LENGTH = 64
PERSON_KEY_LENGTH = 80


def enum_type(cls: type[StrEnum], name: str, *, constraint: bool = True) -> SAEnum:
    """A closed vocabulary stored as its values in a VARCHAR with a CHECK.

    ``constraint=False`` leaves the CHECK to the table (see :func:`one_of`).
    """
    return SAEnum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=constraint,
        length=32,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


def one_of(column: str, cls: Iterable[StrEnum]) -> CheckConstraint:
    """The CHECK of a closed vocabulary (or a part of one, such as the staff
    roles) written as ``a = 'x' OR a = 'y' ...``.

    For the tables enrollment fills in bulk (~570 rows a patient): SQLite
    evaluates the ``IN (...)`` list SQLAlchemy's Enum writes by building a
    temporary table for each row inserted, which made those CHECKs cost more
    than the insert itself (bench.run: 43,000 against 89,000 reminder rows/s).
    The comparisons accept exactly the same values.
    """
    text = " OR ".join(f"{column} = '{member.value}'" for member in cls)
    return CheckConstraint(text, name=column)


def actor_type() -> String:
    """Who did something, as :mod:`core.store.audit` names actors (``staff:3``, ``system``)."""
    return String(ACTOR_LENGTH)
