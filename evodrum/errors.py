"""The one exception type whose message is meant for the user, not a traceback."""


class EvodrumError(Exception):
    """A problem with the user's input (a file, an option, a model) in one line.

    Raise it with a message naming the file or option and what is wrong; the CLI
    prints it as `error: ...` and exits non-zero.
    """
