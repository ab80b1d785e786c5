"""The contract every connector passes, present and future.

A connector's test module subclasses :class:`ConnectorContract` and provides a ``harness``
fixture (a :class:`Harness`) wired to its fake backend (``responses`` in strict mode, a
loopback server, or files). The tests here then check the behaviour the sync runner and the
reconcilers rely on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest

from canonical import Record, ResultStatus, WriteIntent
from connectors.base import CheckReport, Connector, Cursor, FieldInfo


@dataclass
class Harness:
    connector: Connector
    #: entity to read, and how many records the fake holds for it
    entity: str
    expected_count: int
    #: an external id the fake knows (lookup must find it) for ``lookup_entity``
    known_external_id: str
    lookup_entity: str
    #: builds intents the fake will accept (at least two) — None when the connector is read-only
    make_intents: Callable[[], Sequence[WriteIntent]] | None = None
    extra: dict[str, object] = field(default_factory=dict)


class ConnectorContract:
    @pytest.fixture
    def harness(self) -> Harness:  # pragma: no cover - overridden
        raise NotImplementedError("connector test modules provide a harness fixture")

    def test_read_yields_canonical_records_from_this_system(self, harness: Harness) -> None:
        stream = harness.connector.read(harness.entity)
        records = list(stream)
        assert len(records) == harness.expected_count
        assert all(isinstance(r, Record) for r in records)
        assert {r.source_system for r in records} == {harness.connector.system}
        assert len({r.source_id for r in records}) == len(records), "duplicate source ids"

    def test_cursor_is_final_only_after_exhaustion(self, harness: Harness) -> None:
        stream = harness.connector.read(harness.entity)
        with pytest.raises(RuntimeError):
            _ = stream.cursor
        list(stream)
        cursor = stream.cursor
        assert cursor is None or isinstance(cursor, Cursor)
        if cursor is not None:
            assert Cursor.from_json(cursor.to_json()) == cursor

    def test_limit_caps_the_records_read(self, harness: Harness) -> None:
        if harness.expected_count < 2:
            pytest.skip("fake holds fewer than two records")
        records = list(harness.connector.read(harness.entity, limit=1))
        assert len(records) == 1

    def test_lookup_finds_known_and_omits_unknown(self, harness: Harness) -> None:
        found = harness.connector.lookup(
            harness.lookup_entity, [harness.known_external_id, "bb-does-not-exist-0"]
        )
        assert harness.known_external_id in found
        assert "bb-does-not-exist-0" not in found
        assert isinstance(found[harness.known_external_id], Record)

    def test_write_returns_one_result_per_intent_in_order(self, harness: Harness) -> None:
        if harness.make_intents is None:
            pytest.skip("read-only connector")
        intents = list(harness.make_intents())
        assert len(intents) >= 2
        results = harness.connector.write(intents)
        assert [r.idempotency_key for r in results] == [i.idempotency_key for i in intents]
        assert all(isinstance(r.status, ResultStatus) for r in results)

    def test_check_reports_for_this_system(self, harness: Harness) -> None:
        report = harness.connector.check()
        assert isinstance(report, CheckReport)
        assert report.system == harness.connector.system
        assert report.ok is True
        assert report.authenticated is True

    def test_describe_lists_fields(self, harness: Harness) -> None:
        fields = harness.connector.describe(harness.entity)
        assert fields, "describe returned no fields"
        assert all(isinstance(f, FieldInfo) for f in fields)
        assert len({f.name for f in fields}) == len(fields)
