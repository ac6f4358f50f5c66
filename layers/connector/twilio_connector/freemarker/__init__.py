"""A FreeMarker template engine: a lexer (:mod:`.lexer`), a parser into a tree (:mod:`.parser`,
:mod:`.tree`), an evaluator (:mod:`.evaluator`), built-ins grouped by the type they apply to
(:mod:`.builtins`) and Java-compatible number and date formats from CLDR (:mod:`.number_format`,
:mod:`.date_format`). It renders as Apache FreeMarker 2.3.31 does (configured as Alfresco:
incompatible_improvements 2.3.20), checked against goldens from the real engine
(tests/goldens/freemarker.json, ``make goldens``); what it does not run it refuses with a
:class:`TemplateError` of kind ``refused`` naming the construct.

The engine stands on its own: it imports nothing from the connector around it, takes its
settings as arguments (:func:`render_template`) and raises only :class:`TemplateError`; the
connector's defaults and error codes are applied in :mod:`twilio_connector.rendering`.

Imported only for a template that holds ``${``, ``#{``, ``<#``, ``</#``, ``<@`` or ``</@``.
"""

from __future__ import annotations

import bisect
import re
import time
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from twilio_connector.freemarker import tree
from twilio_connector.freemarker.errors import (
    FtlError,
    FtlLimit,
    FtlSyntaxError,
    Refused,
    TemplateError,
)
from twilio_connector.freemarker.evaluator import MAX_OUTPUT_CHARS, Renderer
from twilio_connector.freemarker.parser import MAX_CONSTRUCTS, MAX_NESTING, MAX_TOKENS, parse
from twilio_connector.freemarker.values import MAX_SEQUENCE_ITEMS, from_metadata

__all__ = [
    "MAX_CONSTRUCTS",
    "MAX_NESTING",
    "MAX_OUTPUT_CHARS",
    "MAX_SEQUENCE_ITEMS",
    "MAX_TOKENS",
    "RENDER_SECONDS",
    "TemplateError",
    "render_template",
]

#: The defaults of :func:`render_template`'s settings (the connector's defaults too): the
#: locale and time zone, and the time cap of one render.
DEFAULT_LOCALE = "en_US"
DEFAULT_TIME_ZONE = "UTC"
RENDER_SECONDS = 0.5


class _Compiled:
    def __init__(self, root: tree.Block | None, error: FtlError | None) -> None:
        self.root, self.error = root, error


@lru_cache(maxsize=256)
def compile_template(source: str) -> _Compiled:
    """The template's tree, cached by its text (a syntax error is cached too)."""
    try:
        return _Compiled(parse(source), None)
    except (FtlSyntaxError, FtlLimit) as exc:
        return _Compiled(None, exc)
    except RecursionError:
        return _Compiled(None, FtlSyntaxError("the template is nested too deeply", 0))


def render_template(
    source: str,
    variables: Mapping[str, Any],
    *,
    locale: str = DEFAULT_LOCALE,
    time_zone: str = DEFAULT_TIME_ZONE,
    now_millis: int | None = None,
    seconds: float | None = None,
    max_output: int = MAX_OUTPUT_CHARS,
) -> str:
    """Render ``source`` with ``variables`` (JSON-like values: numbers are computed in decimal).

    ``locale`` and ``time_zone`` are the template's settings (Java's names: ``de_DE``,
    ``Europe/Berlin``; the template may change them with ``<#setting>``), ``now_millis`` the
    instant ``.now`` reads (default: now), ``seconds`` the time cap of the render (default
    ``RENDER_SECONDS``), ``max_output`` the cap on the output's characters. Raises
    :class:`TemplateError` and nothing else.
    """
    seconds = RENDER_SECONDS if seconds is None else seconds
    compiled = compile_template(source)
    if compiled.error is not None:
        raise _template_error(compiled.error, source, seconds) from None
    assert compiled.root is not None
    renderer = Renderer(
        from_metadata(dict(variables)),
        locale,
        time_zone,
        time.monotonic() + seconds,
        now_millis,
        max_output,
    )
    try:
        renderer.run(compiled.root.body)
    except FtlError as exc:
        raise _template_error(exc, source, seconds) from None
    except RecursionError:
        raise TemplateError("depth", "the template nests too deeply to render") from None
    return "".join(renderer.out)


def _position(source: str, pos: int) -> tuple[int, int]:
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\n|\r", source)]
    line = bisect.bisect_right(starts, max(pos, 0))
    return line, max(pos, 0) - starts[line - 1] + 1


def _template_error(exc: FtlError, source: str, seconds: float) -> TemplateError:
    if isinstance(exc, FtlLimit):  # a cap (the time cap included): no position
        limit = seconds if exc.kind == "timeout" else None
        return TemplateError(exc.kind, exc.message, limit=limit)
    line, column = _position(source, exc.pos)
    construct = exc.construct if isinstance(exc, Refused) else None
    return TemplateError(exc.kind, exc.message, line=line, column=column, construct=construct)
