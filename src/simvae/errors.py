"""The errors a user can fix. The CLI prints each as one line (exit code 2); every message names the fix."""


class SimvaeError(Exception):
    """Base of the user-fixable errors below."""


class SimvaeWarning(UserWarning):
    """Something a user should know that does not stop the work (the CLI prints it as one `simvae: warning:` line)."""


class ConfigError(SimvaeError, ValueError):
    """A configuration key or value that cannot be used; the message names it and the fix."""


class InputError(SimvaeError, ValueError, TypeError):
    """An argument of the Python API that cannot be used (images of the wrong shape or type, a representation or
    method the run lacks): a ValueError or TypeError as Python has it; the message names it and what would work."""


class DataError(SimvaeError, RuntimeError):
    """A dataset that is missing, truncated or corrupt; the message says where we looked and the fix."""


class TrainingDiverged(SimvaeError, RuntimeError):
    """The loss became NaN or infinite; the message names the step, the terms and likely fixes."""


class RunDirError(SimvaeError, OSError):
    """A run directory or checkpoint that cannot be used: locked by another run, unwritable, full, corrupt."""


class DiskFull(RunDirError):
    """The file system filled up while writing `path`; the previous version of the file, if any, is intact."""

    def __init__(self, device: str, path: object, kept: bool, then: str = "run the same command again") -> None:
        state = "the previous version is intact" if kept else "nothing was written"
        super().__init__(f"no space left on {device} while writing {path}; {state}: free some space, then {then}")
        self.device, self.path, self.kept = device, path, kept


class TrainingInterrupted(SimvaeError, RuntimeError):
    """SIGTERM or SIGINT stopped training after a checkpoint at the current step; the message says how to resume."""

    def __init__(self, message: str, signal_number: int) -> None:
        super().__init__(message)
        self.signal_number = signal_number

    def __reduce__(self):  # pickled with both arguments, so it crosses from a worker process intact
        return type(self), (str(self), self.signal_number)
