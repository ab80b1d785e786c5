"""Lockbox layout profiles: per-bank record layouts as YAML data, validated on load.

``bai_default.yaml`` reads the common BAI layout; copy it per bank and change offsets.
Positions are 1-based and inclusive, as bank specifications print them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from billbridge.errors import ConfigError
from canonical import normalize_currency
from canonical.currencies import UnknownCurrencyError

PROFILE_DIR = Path(__file__).parent
_POS = re.compile(r"(\d+)-(\d+)")

Kind = Literal[
    "file_header",
    "service",
    "lockbox_header",
    "check",
    "overflow",
    "batch_total",
    "lockbox_total",
    "file_trailer",
]


class FieldSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    pos: str
    type: Literal["text", "int", "amount", "date"] = "text"
    format: str | None = None  # strptime format for dates
    decimals: int | None = None  # override the currency's minor units (rare)

    @field_validator("pos")
    @classmethod
    def _start_end(cls, value: str) -> str:
        m = _POS.fullmatch(value.strip())
        if not m or int(m.group(1)) < 1 or int(m.group(2)) < int(m.group(1)):
            raise ValueError(f"position {value!r} is not 'start-end' (1-based, inclusive)")
        return value.strip()

    def span(self) -> tuple[int, int]:
        """Python slice bounds."""
        start, end = self.pos.split("-")
        return int(start) - 1, int(end)


class RecordSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Kind
    fields: dict[str, FieldSpec] = {}
    #: overflow records: invoice slots (``number``/``amount`` fields) by overflow type
    invoices: dict[str, list[dict[str, FieldSpec]]] = {}

    @model_validator(mode="after")
    def _required(self) -> RecordSpec:
        needed = _REQUIRED.get(self.kind, ())
        missing = [name for name in needed if name not in self.fields]
        if missing:
            raise ValueError(f"{self.kind} record needs fields {', '.join(missing)}")
        return self


class Profile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str | None = None
    currency: str = "USD"
    records: dict[str, RecordSpec]

    @field_validator("currency")
    @classmethod
    def _iso(cls, value: str) -> str:
        return normalize_currency(value)

    @field_validator("records")
    @classmethod
    def _one_character_types(cls, value: dict[str, RecordSpec]) -> dict[str, RecordSpec]:
        bad = [key for key in value if len(key) != 1]
        if bad:
            raise ValueError(f"record types must be one character, got {bad}")
        return value


#: Fields the parser cannot do without, per record kind.
_REQUIRED: dict[str, tuple[str, ...]] = {"check": ("amount",), "overflow": ("overflow_type",)}


def load_profile(profile: str = "bai_default") -> Profile:
    """A bundled profile by name, or a YAML file by path. Bad profiles raise ConfigError."""
    path = Path(profile)
    if not path.suffix:
        path = PROFILE_DIR / f"{profile}.yaml"
    try:
        return _load(str(path), path.stat().st_mtime_ns)
    except OSError as exc:
        raise ConfigError(f"lockbox profile {profile}: {exc.strerror or exc}") from None


@lru_cache(maxsize=32)
def _load(path: str, mtime_ns: int) -> Profile:
    """Cached per file version: an edited profile is read again."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return Profile.model_validate(data)
    except (OSError, yaml.YAMLError, ValidationError, UnknownCurrencyError) as exc:
        raise ConfigError(f"lockbox profile {path}: {exc}") from None
