"""billbridge configuration: one YAML file, environment variables and a secrets directory."""

from config.loader import ConfigProblem, ConfigProblems, load_config, validate_config_file
from config.model import BillbridgeConfig

__all__ = [
    "BillbridgeConfig",
    "ConfigProblem",
    "ConfigProblems",
    "load_config",
    "validate_config_file",
]
