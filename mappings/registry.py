"""The default specs shipped in ``mappings/specs`` and how to find them."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from billbridge.errors import ConfigError
from mappings.loader import CROSSWALKS_DIR, load_spec
from mappings.model import MappingSpec

SPECS_DIR = Path(__file__).resolve().parent / "specs"


__all__ = ["CROSSWALKS_DIR", "SPECS_DIR", "default_spec", "find_default_spec", "spec_files"]


def spec_files(folder: Path = SPECS_DIR) -> list[Path]:
    return sorted(p for p in folder.rglob("*.y*ml") if p.suffix in (".yaml", ".yml"))


def default_spec_names() -> list[str]:
    return [p.relative_to(SPECS_DIR).with_suffix("").as_posix() for p in spec_files()]


@lru_cache(maxsize=128)
def default_spec(name: str) -> MappingSpec:
    """A shipped spec by name, e.g. ``"salesforce/opportunity_to_contract"``."""
    path = SPECS_DIR / f"{name}.yaml"
    if not path.is_file():
        import difflib

        close = difflib.get_close_matches(name, default_spec_names(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"no default mapping spec {name!r}{hint}")
    return load_spec(path)


def find_default_spec(
    system: str,
    *,
    object: str | None = None,
    entity: str | None = None,
    payload: str | None = None,
    file_export: bool = False,
) -> MappingSpec:
    """The shipped spec reading ``system`` (optionally its vendor ``object``) into
    canonical ``entity`` or vendor ``payload``; ``file_export`` picks among the CSV/XLSX
    export specs instead of the API ones. Raises ConfigError when none or several match."""
    matches = []
    for name in default_spec_names():
        spec = default_spec(name)
        if (spec.source.format in ("csv", "xlsx")) != file_export:
            continue
        if spec.source.system != system:
            continue
        if object is not None and (spec.source.object or "").lower() != object.lower():
            continue
        if entity is not None and spec.target.entity != entity:
            continue
        if payload is not None and spec.target.payload != payload:
            continue
        matches.append(spec)
    if len(matches) != 1:
        what = f"system={system} object={object} entity={entity} payload={payload}"
        names = ", ".join(s.name for s in matches) or "none"
        raise ConfigError(f"expected one default spec for {what}, found {names}")
    return matches[0]
