"""billbridge: ERP integration and reconciliation middleware for billing and AR teams."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("billbridge")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+source"
