"""What every canonical record carries: where it came from and what it is called elsewhere."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from canonical.currencies import normalize_currency

#: An ISO 4217 code, upper-cased and checked.
CurrencyCode = Annotated[str, AfterValidator(normalize_currency)]


class Frozen(BaseModel):
    """Immutable model that refuses unknown fields (a typo must not vanish silently)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Provenance(Frozen):
    """Where in a file or API response a record was read: enough to show the analyst."""

    file: str | None = None
    file_sha256: str | None = None
    line: int | None = None
    offset: int | None = None
    segment: int | None = None
    raw: str | None = None

    def where(self) -> str:
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.segment is not None:
            parts.append(f"segment {self.segment}")
        if self.offset is not None and self.line is None:
            parts.append(f"offset {self.offset}")
        return ", ".join(parts)


class Record(Frozen):
    """Base of every canonical record.

    ``source_system``/``source_id`` identify the record in the system it was read from;
    ``source_version`` (or ``updated_at``) says which version; ``crosswalk`` maps other
    systems' names for the same thing (``{"zuora": "A00001", "netsuite": "4711"}``).
    """

    source_system: str
    source_id: str
    source_version: str | None = None
    updated_at: AwareDatetime | None = None
    crosswalk: dict[str, str] = Field(default_factory=dict)
    provenance: Provenance | None = None
    #: Fields a mapping put here that the canonical model has no slot for (custom fields).
    extra: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.source_system, self.source_id)

    def id_in(self, system: str) -> str | None:
        """This record's id in ``system`` (its own id when ``system`` is its source)."""
        if system == self.source_system:
            return self.source_id
        return self.crosswalk.get(system)

    def version_token(self) -> str:
        """A token that changes whenever the source record changes."""
        if self.source_version:
            return self.source_version
        if self.updated_at is not None:
            return self.updated_at.isoformat()
        return ""


def utc_now() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)
