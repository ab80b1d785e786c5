"""Open a configured connection by name: settings from config → a Connector instance."""

from __future__ import annotations

import importlib
from typing import Any

from billbridge.errors import ConfigError
from config.loader import typed_section
from config.model import BillbridgeConfig, FileConnectionSettings
from connectors.base import Connector


def open_connection(config: BillbridgeConfig, name: str) -> Connector:
    if name not in config.connections:
        known = ", ".join(sorted(config.connections)) or "none configured"
        raise ConfigError(f"no connection named {name!r} (known: {known})")
    settings: Any = typed_section(config, "connections", name)
    if isinstance(settings, FileConnectionSettings):
        from connectors.files import FileConnector
        from mappings import load_spec

        return FileConnector(
            settings.path, load_spec(settings.spec), system=settings.source_system or "file"
        )
    module = importlib.import_module(f"connectors.{settings.system}")
    connector: Connector = module.connect(settings)
    return connector
