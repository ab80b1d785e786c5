"""Sync jobs: contract and customer changes from CRM into billing (Zuora) or the ERP (NetSuite).

Change detection (``events``) and planning (``planner``) are pure; the outbox, cursors and
leases live in the state store; ``runner.run_job`` is the write protocol; ``scheduler`` runs
jobs unattended.
"""
