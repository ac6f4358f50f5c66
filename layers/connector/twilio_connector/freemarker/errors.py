"""The engine's own exceptions; :mod:`twilio_connector.freemarker` maps them to connector errors."""

from __future__ import annotations


class FtlError(Exception):
    """An error at a position of the template (``pos`` is an index into its text, or -1)."""

    def __init__(self, message: str, pos: int = -1) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


class FtlSyntaxError(FtlError):
    """The template cannot be parsed (FreeMarker's ParseException)."""


class Refused(FtlSyntaxError):
    """A FreeMarker construct this engine deliberately does not run."""

    def __init__(self, construct: str, pos: int = -1, hint: str | None = None) -> None:
        super().__init__(f"{construct} is not supported" + (f"; {hint}" if hint else ""), pos)
        self.construct = construct


class FtlMissing(FtlError):
    """A value is missing or null (FreeMarker's InvalidReferenceException)."""


class FtlRuntimeError(FtlError):
    """Any other error while rendering: wrong type, bad format, division by zero."""


class FtlLimit(FtlError):
    """A cap on output, size or nesting was reached."""


class FtlTimeout(FtlLimit):
    """The render took longer than its time cap."""
