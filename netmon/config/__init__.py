"""Configuration: strict models, YAML with positions, and the loader."""

from netmon.config.loader import LoadedConfig, load
from netmon.config.yamlmarks import ConfigError, ConfigErrors

__all__ = ["ConfigError", "ConfigErrors", "LoadedConfig", "load"]
