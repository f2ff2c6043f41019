"""A WeChat push settled in the transaction that stores it, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core.store.audit import verify_chain
from core.store.db import read_session
from core.store.models import AuditRecord, Setting, WechatPush
from core.store.uow import UnitOfWork
from core.store.wechat import receive_push
from scheduler.outbox import put_setting

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
ACCOUNT = "oAccount0000000000000000000A"


def _push(engine: Engine) -> WechatPush:
    with read_session(engine) as session:
        return session.exec(select(WechatPush)).one()


def _actions(engine: Engine) -> list[str]:
    with read_session(engine) as session:
        return [r.action for r in session.exec(select(AuditRecord).order_by(col(AuditRecord.seq)))]


def test_a_push_settled_as_it_is_stored_is_kept_handled_without_its_text(engine: Engine) -> None:
    with UnitOfWork(engine, f"wechat:{ACCOUNT}", NOW) as uow:
        assert receive_push(uow, "receipt:1", ACCOUNT, "<xml/>", settle=lambda: True) is not None
    push = _push(engine)
    assert push.handled_at == NOW and push.body is None
    assert _actions(engine)[-1] == "wechat.push.received"  # one record, no separate "handled"
    with read_session(engine) as session:
        last = session.exec(select(AuditRecord).order_by(col(AuditRecord.seq).desc())).first()
        assert last is not None and last.after is not None
        assert json.loads(last.after)["handled_at"] == NOW.isoformat()


def test_a_settle_that_fails_keeps_none_of_its_changes_and_leaves_the_push_to_be_handled(
    engine: Engine,
) -> None:
    def settle() -> bool:
        put_setting(uow, "half.done", 1)  # written and audited, then undone with the savepoint
        raise RuntimeError("the receipt could not be recorded")

    with UnitOfWork(engine, f"wechat:{ACCOUNT}", NOW) as uow:
        assert receive_push(uow, "receipt:2", ACCOUNT, "<xml/>", settle=settle) is not None
    push = _push(engine)
    assert push.handled_at is None and push.body == "<xml/>"  # the background handles it
    with read_session(engine) as session:
        assert session.get(Setting, "half.done") is None
        assert verify_chain(session) is None  # no gap where the undone record was
    assert "setting.created" not in _actions(engine)
