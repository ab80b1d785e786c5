"""Salesforce connector on simple-salesforce: see :mod:`connectors.salesforce.connector`."""

from __future__ import annotations

from connectors.salesforce.connector import SalesforceConnector, connect
from connectors.salesforce.settings import SalesforceSettings

__all__ = ["SalesforceConnector", "SalesforceSettings", "connect"]
