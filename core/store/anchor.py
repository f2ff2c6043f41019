"""The audit chain's head, anchored outside the database.

Requirement: "the bot signs the head with an HMAC key that is not stored in
the database ... and the daily digest to coordinators carries the head's
short hash and record count, so a deleted tail or a re-hashed chain is caught".

The chain alone proves only that its records agree with each other: someone
with write access can delete its last records and move the head back, or
change a record and compute every later hash again. The anchor is
HMAC-SHA256 over the record count and the head's hash, with a key kept out
of the database, shortened to :data:`SHORT` hex digits and shown to the
coordinators each morning. Later, the record at that count must still give
that anchor: a shorter chain means a deleted tail, another anchor a
rewritten chain, and without the key no one can make an anchor match.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal

from sqlmodel import Session, col, func, select

from core.store.audit import GENESIS_HASH
from core.store.models import AuditHead, AuditRecord

# 64 bits: guessing one is out of the question, and it still fits a message line.
SHORT = 16


def anchor_of(key: bytes, seq: int, head_hash: str) -> str:
    """The short anchor of the chain ending at record ``seq`` with hash ``head_hash``."""
    message = f"{seq}:{head_hash}".encode("ascii")
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:SHORT]


@dataclass(frozen=True, slots=True)
class Anchor:
    """The chain's record count and its short anchor, as the daily digest shows them."""

    count: int
    short: str


def current_anchor(session: Session, key: bytes) -> Anchor:
    """The anchor of the chain as its head stands now (0 records: the genesis hash)."""
    head = session.get(AuditHead, 1)
    seq, last = (head.last_seq, head.last_hash) if head is not None else (0, GENESIS_HASH)
    return Anchor(seq, anchor_of(key, seq, last))


AnchorKind = Literal["shorter", "rewritten", "unknown"]


@dataclass(frozen=True, slots=True)
class AnchorProblem:
    """Why an anchor does not hold: ``shorter`` (the chain has fewer records than the
    anchor counted: its tail was deleted), ``rewritten`` (the record at that count has
    another hash: the chain was re-hashed) or ``unknown`` (no record gives it)."""

    kind: AnchorKind
    message: str


@dataclass(frozen=True, slots=True)
class AnchorCheck:
    """The record count at which the anchor holds, or why it does not."""

    count: int | None
    problem: AnchorProblem | None


def check_anchor(session: Session, key: bytes, short: str, count: int | None = None) -> AnchorCheck:
    """Whether the chain at ``count`` records still has the anchor ``short``.

    Without ``count`` every record is tried (as :func:`core.store.audit.verify_chain`
    walks them anyway), so an anchor copied without its count is still checked.
    """
    short = short.strip().lower()
    records = session.exec(select(func.count()).select_from(AuditRecord)).one()
    if count is None:
        query = select(AuditRecord.seq, AuditRecord.hash).order_by(col(AuditRecord.seq))
        for seq, digest in session.exec(query.execution_options(yield_per=5000)):
            if hmac.compare_digest(anchor_of(key, seq, digest), short):
                return AnchorCheck(seq, None)
        if hmac.compare_digest(anchor_of(key, 0, GENESIS_HASH), short):
            return AnchorCheck(0, None)
        return AnchorCheck(
            None,
            AnchorProblem(
                "unknown",
                f"no record of the chain ({records} now) has the anchor {short}: its tail "
                "was deleted or it was re-hashed (or the anchor or AUDIT_KEY is not this "
                "trial's)",
            ),
        )
    if count > records:
        return AnchorCheck(
            None,
            AnchorProblem(
                "shorter",
                f"the anchor was taken at {count} records but the chain now has {records}: "
                "its tail was deleted",
            ),
        )
    record = session.get(AuditRecord, count) if count > 0 else None
    if count > 0 and record is None:
        return AnchorCheck(
            None, AnchorProblem("shorter", f"record {count} is missing from the chain")
        )
    head_hash = record.hash if record is not None else GENESIS_HASH
    if hmac.compare_digest(anchor_of(key, count, head_hash), short):
        return AnchorCheck(count, None)
    return AnchorCheck(
        None,
        AnchorProblem(
            "rewritten",
            f"the chain at record {count} no longer has the anchor {short}: it was "
            "rewritten and re-hashed (or the anchor or AUDIT_KEY is not this trial's)",
        ),
    )
