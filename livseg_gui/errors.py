"""Exception types shared by every layer; the CLI maps them to exit codes."""


class LivSegError(Exception):
    """Base class for errors the user should see as one clear line."""

    exit_code = 3


class InputError(LivSegError):
    """The file or folder the user gave cannot be used (exit code 3)."""


class ModelError(LivSegError):
    """The bundled or user-supplied models are missing, corrupt or inconsistent."""


class UsageError(LivSegError):
    """The command line itself is wrong (exit code 2)."""

    exit_code = 2


class Cancelled(LivSegError):
    """A long operation was cancelled by the user."""

    exit_code = 1
