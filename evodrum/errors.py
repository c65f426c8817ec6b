"""The one exception type whose message is meant for the user, not a traceback."""


class EvodrumError(Exception):
    """A problem with the user's input (a file, an option, a model) in one line.

    Raise it with a message naming the file or option and what is wrong; the CLI
    prints it as `error: ...` and exits non-zero.
    """


class FileError(EvodrumError):
    """A file evodrum cannot use: the message is "PATH: REASON", and `reason` alone says
    why without the path (so a caller can re-word it for another file or layer)."""

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = str(path), reason
