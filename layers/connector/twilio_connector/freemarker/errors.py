"""The engine's exceptions. Inside the engine an error is raised at a position of the template
(the ``Ftl*`` classes below, ``pos`` an index into its text); :func:`render_template
<twilio_connector.freemarker.render_template>` turns any of them into the one exception it
raises, :class:`TemplateError`, which says what failed (``kind``) and where (``line``,
``column``). What a caller makes of it (the connector: TEMPLATE_SYNTAX_ERROR and the other
TEMPLATE_* codes, in :mod:`twilio_connector.rendering`) is the caller's business."""

from __future__ import annotations

#: The kinds of TemplateError: the template cannot be parsed; it uses a construct this engine
#: deliberately does not run (``construct`` names it); a value is missing or null; any other
#: error while rendering (wrong type, bad format, division by zero); a cap on output, size or
#: nesting was reached; the time cap was reached (``limit``: the seconds); the template nests
#: too deeply to render.
KINDS = ("syntax", "refused", "missing", "runtime", "limit", "timeout", "depth")


class TemplateError(Exception):
    """What :func:`render_template` raises. ``message`` is the engine's description, without the
    position; ``line`` and ``column`` (from 1) locate it in the template (None for the caps)."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        construct: str | None = None,
        limit: float | None = None,
    ) -> None:
        where = f" at line {line}, column {column}" if line is not None else ""
        super().__init__(f"{message}{where}")
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column
        self.construct = construct
        self.limit = limit


class FtlError(Exception):
    """An error at a position of the template (``pos`` is an index into its text, or -1)."""

    kind = "runtime"

    def __init__(self, message: str, pos: int = -1) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


class FtlSyntaxError(FtlError):
    """The template cannot be parsed (FreeMarker's ParseException)."""

    kind = "syntax"


class Refused(FtlSyntaxError):
    """A FreeMarker construct this engine deliberately does not run."""

    kind = "refused"

    def __init__(self, construct: str, pos: int = -1, hint: str | None = None) -> None:
        super().__init__(f"{construct} is not supported" + (f"; {hint}" if hint else ""), pos)
        self.construct = construct


class FtlMissing(FtlError):
    """A value is missing or null (FreeMarker's InvalidReferenceException)."""

    kind = "missing"


class FtlRuntimeError(FtlError):
    """Any other error while rendering: wrong type, bad format, division by zero."""

    kind = "runtime"


class FtlLimit(FtlError):
    """A cap on output, size or nesting was reached."""

    kind = "limit"


class FtlTimeout(FtlLimit):
    """The render took longer than its time cap."""

    kind = "timeout"
