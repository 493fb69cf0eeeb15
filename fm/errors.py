"""Errors that stop an `fm` command with a message for the operator rather than a traceback."""


class StartupError(Exception):
    """A part could not start (a port taken, a store unreachable); the message says which."""
