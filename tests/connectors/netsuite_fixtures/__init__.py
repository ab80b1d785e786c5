"""Shared pieces for the NetSuite connector tests (settings, keys, fixture records)."""
