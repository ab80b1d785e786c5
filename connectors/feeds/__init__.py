"""Bank statement and EDI feeds: parsers into canonical records, detection, import.

Entry points: :func:`connectors.feeds.registry.parse_bytes` (detect + parse, no storage),
:func:`connectors.feeds.importer.import_paths` (parse + store, whole file or nothing),
and the ``billbridge feeds`` commands in :mod:`connectors.feeds.cli`.
"""
