"""config.yaml: its schema (schema.py) and the loader that reads and locates problems (loader.py)."""

from kiosk.config.loader import CheckedConfig, check_config_file, load_config, secrets_file_for
from kiosk.config.schema import (
    DEFAULT_CONFIG_NAME,
    Config,
    ConfigError,
    DeviceConfig,
    DisplayConfig,
    HqConfig,
    LedgerConfig,
    LoggingConfig,
    MonitoringConfig,
    ReaderConfig,
    SecurityConfig,
    SimulationConfig,
)

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "CheckedConfig",
    "Config",
    "ConfigError",
    "DeviceConfig",
    "DisplayConfig",
    "HqConfig",
    "LedgerConfig",
    "LoggingConfig",
    "MonitoringConfig",
    "ReaderConfig",
    "SecurityConfig",
    "SimulationConfig",
    "check_config_file",
    "load_config",
    "secrets_file_for",
]
