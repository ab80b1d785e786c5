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
from pydantic import BaseModel, ConfigDict, ValidationError

from billbridge.errors import ConfigError
from canonical import minor_units

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

    def span(self) -> tuple[int, int]:
        m = _POS.fullmatch(self.pos.strip())
        if not m or int(m.group(1)) < 1 or int(m.group(2)) < int(m.group(1)):
            raise ValueError(f"position {self.pos!r} is not 'start-end' (1-based)")
        return int(m.group(1)) - 1, int(m.group(2))


class RecordSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Kind
    fields: dict[str, FieldSpec] = {}
    invoices: dict[str, list[dict[str, FieldSpec]]] = {}


class Profile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str | None = None
    currency: str = "USD"
    records: dict[str, RecordSpec]


@lru_cache(maxsize=16)
def load_profile(profile: str = "bai_default") -> Profile:
    """A bundled profile by name, or a YAML file by path. Bad profiles raise ConfigError."""
    path = Path(profile)
    if not path.suffix:
        path = PROFILE_DIR / f"{profile}.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        result = Profile.model_validate(data)
        for spec in result.records.values():
            for f in spec.fields.values():
                f.span()
            for slots in spec.invoices.values():
                for slot in slots:
                    for f in slot.values():
                        f.span()
        minor_units(result.currency)
    except (OSError, yaml.YAMLError, ValidationError, ValueError) as exc:
        raise ConfigError(f"lockbox profile {profile}: {exc}") from None
    return result
