"""A FreeMarker template engine: a lexer (:mod:`.lexer`), a parser into a tree (:mod:`.parser`,
:mod:`.tree`), an evaluator (:mod:`.evaluator`), built-ins grouped by the type they apply to
(:mod:`.builtins`) and Java-compatible number and date formats from CLDR (:mod:`.number_format`,
:mod:`.date_format`). It renders as Apache FreeMarker 2.3.31 does (configured as Alfresco:
incompatible_improvements 2.3.20), checked against goldens from the real engine
(tests/goldens/freemarker.json, ``make goldens``); what it does not run it refuses with
TEMPLATE_SYNTAX_ERROR naming the construct.

Imported only for a template that holds ``${``, ``#{``, ``<#``, ``</#``, ``<@`` or ``</@``.
"""

from __future__ import annotations

import bisect
import re
import time
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from twilio_connector.errors import (
    TEMPLATE_METADATA_ERROR,
    TEMPLATE_READ_ERROR,
    TEMPLATE_SYNTAX_ERROR,
)
from twilio_connector.freemarker import tree
from twilio_connector.freemarker.errors import (
    FtlError,
    FtlLimit,
    FtlMissing,
    FtlSyntaxError,
    FtlTimeout,
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
    "render_template",
]

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
    locale: str | None = None,
    time_zone: str | None = None,
    now_millis: int | None = None,
) -> str:
    """Render ``source`` with ``variables``; raises the TEMPLATE_* connector errors."""
    from twilio_connector.config import template_settings

    default_locale, default_zone = template_settings()
    compiled = compile_template(source)
    if compiled.error is not None:
        raise _connector_error(compiled.error, source)
    assert compiled.root is not None
    renderer = Renderer(
        from_metadata(dict(variables)),
        locale or default_locale,
        time_zone or default_zone,
        time.monotonic() + RENDER_SECONDS,
        now_millis,
    )
    try:
        renderer.run(compiled.root.body)
    except FtlError as exc:
        raise _connector_error(exc, source) from None
    except RecursionError:
        raise TEMPLATE_READ_ERROR("The template nests too deeply to render") from None
    return "".join(renderer.out)


def _position(source: str, pos: int) -> tuple[int, int]:
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\n|\r", source)]
    line = bisect.bisect_right(starts, max(pos, 0))
    return line, max(pos, 0) - starts[line - 1] + 1


def _connector_error(exc: FtlError, source: str) -> Exception:
    if isinstance(exc, FtlTimeout):
        return TEMPLATE_READ_ERROR(f"The template took more than {RENDER_SECONDS} s to render")
    if isinstance(exc, FtlLimit):
        return TEMPLATE_READ_ERROR(f"The template exceeds a limit: {exc.message}")
    line, column = _position(source, exc.pos)
    where = f" at line {line}, column {column}"
    details = {"line": line, "column": column}
    if isinstance(exc, FtlSyntaxError):
        return TEMPLATE_SYNTAX_ERROR(f"Template syntax error: {exc.message}{where}", **details)
    if isinstance(exc, FtlMissing):
        return TEMPLATE_METADATA_ERROR(f"{exc.message}{where}", **details)
    return TEMPLATE_METADATA_ERROR(f"Template error: {exc.message}{where}", **details)
