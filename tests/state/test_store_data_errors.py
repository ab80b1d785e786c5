"""Every error the store raises for a statement (a value it cannot hold, a constraint) is
one line naming the store, never the SQL or its parameters (the data may be confidential);
a constraint is still an IntegrityError for callers that expect one from a lost race."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from billbridge.state import Store
from billbridge.state.db import StateStoreUnavailable

SECRET = "confidential-customer-4711"


def test_a_value_the_store_refuses_is_one_line_without_sql(store: Store) -> None:
    with pytest.raises(StateStoreUnavailable) as err, store.session() as s:
        # PostgreSQL: a text column cannot hold NUL; SQLite: the same statement violates
        # NOT NULL for the column left out
        s.execute(
            text(
                "INSERT INTO audit_events (at, actor, action, subject_type, subject_id) "
                "VALUES (CURRENT_TIMESTAMP, :actor, 'a', 't', :sid)"
            ),
            {"actor": "x\x00y" if store.dialect == "postgresql" else None, "sid": SECRET},
        )
    shown = str(err.value)
    assert "\n" not in shown
    assert shown.startswith("state store ")
    assert SECRET not in shown and "INSERT" not in shown


def test_a_duplicate_key_is_one_line_and_still_an_integrity_error(store: Store) -> None:
    insert = text(
        "INSERT INTO cursors (job, stream, cursor, updated_at) "
        "VALUES (:j, 's', :c, CURRENT_TIMESTAMP)"
    )
    with store.session() as s:
        s.execute(insert, {"j": SECRET, "c": SECRET})
    with pytest.raises(IntegrityError) as err, store.session() as s:
        s.execute(insert, {"j": SECRET, "c": SECRET})
    assert isinstance(err.value, StateStoreUnavailable)
    shown = str(err.value)
    assert "\n" not in shown and SECRET not in shown and "INSERT" not in shown
    assert shown.startswith("state store ")
