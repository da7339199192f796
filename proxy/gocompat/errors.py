"""The one exception type of the Go emulations: a Go `error` whose Error() text is `message`."""

from __future__ import annotations


class GoError(Exception):
    """A Go error value; `message` is exactly what Go's err.Error() returns."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
