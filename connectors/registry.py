"""Open a configured connection by name: settings from config → a Connector instance."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

from billbridge.errors import ConfigError
from config.loader import load_config, typed_section
from config.model import BillbridgeConfig, FileConnectionSettings
from connectors.base import Connector


def open_connection(config: BillbridgeConfig, name: str) -> Connector:
    if name not in config.connections:
        known = ", ".join(sorted(config.connections)) or "none configured"
        raise ConfigError(f"no connection named {name!r} (known: {known})")
    settings: Any = typed_section(config, "connections", name)
    if isinstance(settings, FileConnectionSettings):
        from pathlib import Path

        from connectors.files import FileConnector
        from mappings import default_spec, load_spec

        # the loader resolved a relative spec path against the config file's folder; a
        # name without .yaml/.yml is a shipped spec (exports/legacy_customers)
        ref = settings.spec
        spec = load_spec(ref) if Path(ref).suffix in (".yaml", ".yml") else default_spec(ref)
        # unset: records carry the exporting system named by the spec
        return FileConnector(settings.path, spec, system=settings.source_system)
    module = importlib.import_module(f"connectors.{settings.system}")
    connector: Connector = module.connect(settings)
    return connector


def live_rows(connection: str, spec: Any, limit: int | None) -> Iterator[dict[str, Any]]:
    """Vendor-shaped records for ``mappings preview --live``: read raw, before mapping."""
    connector = open_connection(load_config(), connection)
    read_raw = getattr(connector, "read_raw", None)
    if read_raw is None:
        raise ConfigError(f"connection {connection!r} cannot show raw records")
    # connectors name their streams by canonical entity (customer -> Zuora Account)
    entity = spec.target.entity or spec.source.object
    for raw in read_raw(entity, None, limit=limit):
        yield raw.data
