"""config.yaml: its schema (schema.py) and the loader that reads and locates problems (loader.py)."""

from kiosk.config.loader import load_config
from kiosk.config.schema import (
    DEFAULT_CONFIG_NAME,
    Config,
    ConfigError,
    DeviceConfig,
    DisplayConfig,
    HqConfig,
    LedgerConfig,
    LoggingConfig,
    ReaderConfig,
    SecurityConfig,
    SimulationConfig,
)

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "Config",
    "ConfigError",
    "DeviceConfig",
    "DisplayConfig",
    "HqConfig",
    "LedgerConfig",
    "LoggingConfig",
    "ReaderConfig",
    "SecurityConfig",
    "SimulationConfig",
    "load_config",
]
