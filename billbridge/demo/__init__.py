"""The end-to-end demo: a bundled sample data set with planted discrepancies."""
