"""NetSuite connector: REST record API + SuiteQL (primary), SOAP via netsuitesdk (second).

``connect(settings)`` builds a connector; nothing touches the network until it is used.
"""

from __future__ import annotations

from typing import Any

from connectors.netsuite.connector import NetSuiteConnector
from connectors.netsuite.settings import M2MAuth, NetSuiteSettings, TBAAuth


def connect(settings: NetSuiteSettings, **kwargs: Any) -> NetSuiteConnector:
    return NetSuiteConnector(settings, **kwargs)


__all__ = ["M2MAuth", "NetSuiteConnector", "NetSuiteSettings", "TBAAuth", "connect"]
