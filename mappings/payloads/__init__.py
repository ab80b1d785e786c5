"""Vendor request-body schemas that specs may target (``target: {payload: zuora/order}``)."""

from __future__ import annotations
