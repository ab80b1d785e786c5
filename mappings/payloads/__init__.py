"""Vendor request-body schemas that specs may target (``target: {payload: zuora/order}``)."""

from __future__ import annotations

from mappings.payloads import netsuite, zuora

__all__ = ["netsuite", "zuora"]
