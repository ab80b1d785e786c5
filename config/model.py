"""The configuration file's shape.

Sections owned by other packages (vendor connection settings, sync jobs, schedules) are
validated in a second pass through :data:`SECTION_TYPES`/``CONNECTION_TYPES`` so this module
does not import every connector at start-up.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StateSettings(Strict):
    url: str = "sqlite:///billbridge-state.db"


class LoggingSettings(Strict):
    format: Literal["auto", "json", "console"] = "auto"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class SmtpSettings(Strict):
    host: str
    port: int = 587
    starttls: bool = True
    ssl: bool = False
    username: str | None = None
    password: SecretStr | None = None
    sender: str
    timeout_seconds: float = 30.0
    #: CA bundle to verify the server's certificate (a private CA); system CAs otherwise.
    ca_file: str | None = None


class ReportSettings(Strict):
    recipients: list[str] = Field(default_factory=list)
    cc: list[str] = Field(default_factory=list)
    subject_prefix: str = "[billbridge]"
    out_dir: str = "billbridge-out"
    attach_csv: bool = False
    #: With no SMTP configured the report is written as .eml files into out_dir.
    smtp: SmtpSettings | None = None


class FileConnectionSettings(Strict):
    """A folder or file of exports read through a mapping spec."""

    system: Literal["files"] = "files"
    #: the file or folder; relative: to the config file's folder, then the working directory
    path: str
    #: a shipped spec name (``exports/legacy_customers``) or a .yaml path (relative as path)
    spec: str
    source_system: str | None = None


class ReconciliationRef(Strict):
    """A reconciliation definition (built-in name or YAML path) and where its sides come from."""

    definition: str
    sides: dict[str, str] = Field(default_factory=dict)  # side name -> connection[/entity]
    #: settings of an AR suite calculator (e.g. ar_subledger_gl's control accounts),
    #: validated per calculator (``reconcile.suite.configured.SUITE``)
    options: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True


class BillbridgeConfig(Strict):
    version: Literal[1] = 1
    state: StateSettings = StateSettings()
    logging: LoggingSettings = LoggingSettings()
    secrets_dir: str | None = None
    #: name -> vendor connection settings (validated per ``system``)
    connections: dict[str, Any] = Field(default_factory=dict)
    #: name -> sync job settings
    jobs: dict[str, Any] = Field(default_factory=dict)
    #: job name -> schedule (cron + time zone)
    schedules: dict[str, Any] = Field(default_factory=dict)
    reconciliations: dict[str, ReconciliationRef] = Field(default_factory=dict)
    reports: ReportSettings = ReportSettings()
    nightly: Any = None


#: system -> (module, class) for connection settings
CONNECTION_TYPES: dict[str, tuple[str, str]] = {
    "salesforce": ("connectors.salesforce.settings", "SalesforceSettings"),
    "zuora": ("connectors.zuora.settings", "ZuoraSettings"),
    "netsuite": ("connectors.netsuite.settings", "NetSuiteSettings"),
    "files": ("config.model", "FileConnectionSettings"),
}

#: section -> (module, class) for dict-valued sections validated per entry
SECTION_TYPES: dict[str, tuple[str, str]] = {
    "jobs": ("sync.settings", "SyncJobSettings"),
    "schedules": ("sync.settings", "ScheduleSettings"),
}
NIGHTLY_TYPE = ("sync.settings", "NightlySettings")
