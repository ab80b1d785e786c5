"""The one interface every connector implements, vendor API or file.

A connector reads an entity since a cursor (an iterator of canonical records), looks
records up by external id, writes a batch of intents (one result per intent, same order),
checks connectivity and permissions, and describes an entity's fields.

Vendor records become canonical records through mapping specs (``mappings``), so a
connector's own code deals in the vendor's shapes (``read_raw``) and the base class does
the mapping.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from canonical import Record, WriteIntent, WriteResult


class Cursor(BaseModel):
    """Where an incremental read stopped: a watermark plus an id tie-break.

    Stored as JSON in the state store. ``extra`` holds connector-specific state (e.g. an
    export identity that must not change silently).
    """

    model_config = ConfigDict(frozen=True)

    watermark: AwareDatetime | None = None
    last_id: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | None) -> Cursor | None:
        return None if not text else cls.model_validate_json(text)


class RawRecord(BaseModel):
    """A vendor record as read, before mapping; ``deleted`` marks tombstones."""

    model_config = ConfigDict(frozen=True)

    entity: str
    data: dict[str, Any]
    deleted: bool = False
    #: file/line or API page for error messages
    where: str | None = None


class FieldInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    type: str  # string, number, integer, boolean, date, datetime, reference, ...
    label: str | None = None
    required: bool = False
    custom: bool = False
    updateable: bool = True
    reference_to: str | None = None


class CheckReport(BaseModel):
    ok: bool
    system: str
    authenticated: bool = False
    permissions: dict[str, bool] = Field(default_factory=dict)
    api_budget_used: int | None = None
    api_budget_limit: int | None = None
    messages: list[str] = Field(default_factory=list)


class ReadStream(Iterator[Record]):
    """Iterator of canonical records whose ``cursor`` is final once it is exhausted.

    Reading the cursor before exhaustion raises: a part-read stream must never checkpoint.
    Records that fail mapping are collected in ``errors`` (record-level), not dropped.
    """

    def __init__(self, records: Iterator[Record], final_cursor: Any) -> None:
        self._records = records
        self._final_cursor = final_cursor  # callable returning Cursor | None
        self._done = False
        self.errors: list[Any] = []

    def __next__(self) -> Record:
        try:
            return next(self._records)
        except StopIteration:
            self._done = True
            raise

    @property
    def cursor(self) -> Cursor | None:
        if not self._done:
            raise RuntimeError("cursor is only final after the whole stream is read")
        result: Cursor | None = self._final_cursor()
        return result


class Connector(ABC):
    """Base class. Subclasses set ``system`` and implement the abstract hooks."""

    system: ClassVar[str]
    #: canonical entity name -> vendor object name (e.g. "contract" -> "Opportunity")
    entities: ClassVar[Mapping[str, str]] = {}

    @abstractmethod
    def read(
        self, entity: str, since: Cursor | None = None, *, limit: int | None = None
    ) -> ReadStream:
        """Canonical records of ``entity`` changed since ``since`` (all when None)."""

    @abstractmethod
    def lookup(self, entity: str, external_ids: Sequence[str]) -> dict[str, Record]:
        """Records found by our external id; missing ids are absent from the result."""

    @abstractmethod
    def write(self, intents: Sequence[WriteIntent]) -> list[WriteResult]:
        """Apply intents; exactly one result per intent, in input order."""

    @abstractmethod
    def check(self) -> CheckReport:
        """Authenticate, probe permissions, report the remaining API budget."""

    @abstractmethod
    def describe(self, entity: str) -> list[FieldInfo]:
        """Fields of the vendor object behind ``entity`` (discovered, never assumed)."""


def parse_datetime(value: str | None) -> datetime | None:
    """Parse ISO-8601 with offset (Salesforce ``+0000`` style too) into an aware datetime."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no time zone")
    return parsed


def dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str)
