"""Zuora connector (v1 REST on ``requests``): see :mod:`connectors.zuora.connector`."""

from __future__ import annotations

from connectors.zuora.connector import ZuoraConnector, connect
from connectors.zuora.settings import ZuoraSettings, ZuoraTenant

__all__ = ["ZuoraConnector", "ZuoraSettings", "ZuoraTenant", "connect"]
