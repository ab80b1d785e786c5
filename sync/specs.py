"""Mapping versions of a job: sha256 of each reviewed spec, stamped on every intent."""

from __future__ import annotations

from pathlib import Path

from sync.settings import SyncJobSettings


def mapping_versions(job: SyncJobSettings) -> dict[str, str]:
    """entity -> spec version for the specs the job names (a path or a shipped spec name)."""
    if not job.mappings:
        return {}
    from mappings import default_spec, load_spec

    out: dict[str, str] = {}
    for entity, ref in job.mappings.items():
        path = Path(ref)
        spec = load_spec(path) if path.suffix in (".yaml", ".yml") else default_spec(ref)
        out[entity] = spec.version
    return out
