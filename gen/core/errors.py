"""Error types raised by `gen`. Every message names the offending file, field or value."""


class GenError(ValueError):
    """Base class for user-facing errors (bad input, missing data, broken checkpoint)."""


class DataError(GenError):
    """A dataset or input file is missing, unreadable or has the wrong shape."""


class CheckpointError(GenError):
    """A checkpoint directory is missing files, corrupt, or does not match its config."""


class ConfigError(GenError):
    """An unknown model/config name or an invalid config field."""
