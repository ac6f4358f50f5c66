"""Templates (``smsBody``, trigger ``echo``): the checks, the plain-text fast path, ``metadata``.

The FreeMarker engine (:mod:`twilio_connector.freemarker`) is imported only for a template that
holds an interpolation (``${``, ``#{``), a directive (``<#``, ``</#``) or a macro call (``<@``).
The engine knows nothing of the connector: this module gives it the configured locale and time
zone (``TEMPLATE_LOCALE``, ``TEMPLATE_TIME_ZONE``) and is the one place where its
:class:`~twilio_connector.freemarker.TemplateError` becomes a TEMPLATE_* error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from twilio_connector.errors import (
    INVALID_INPUT,
    TEMPLATE_METADATA_ERROR,
    TEMPLATE_READ_ERROR,
    TEMPLATE_SYNTAX_ERROR,
)

if TYPE_CHECKING:
    from twilio_connector.freemarker import TemplateError

MAX_TEMPLATE_CHARS = 10_000
_FREEMARKER = re.compile(r"\$\{|#\{|</?#|</?@")


def render(template: object, variables: Mapping[str, Any], now_millis: int | None = None) -> str:
    """Render a FreeMarker template against ``variables``.

    Raises TEMPLATE_READ_ERROR, TEMPLATE_SYNTAX_ERROR or TEMPLATE_METADATA_ERROR.
    """
    if not isinstance(template, str):
        raise TEMPLATE_READ_ERROR(f"The template is a {type_name(template)}, not text")
    if len(template) > MAX_TEMPLATE_CHARS:
        raise TEMPLATE_READ_ERROR(f"The template is over {MAX_TEMPLATE_CHARS} characters")
    if "\x00" in template or _has_lone_surrogate(template):
        raise TEMPLATE_READ_ERROR("The template holds characters that are not text")
    if is_plain_text(template):
        return template  # nothing to render
    return render_template(template, variables, now_millis=now_millis)


def render_template(
    source: str,
    variables: Mapping[str, Any],
    *,
    locale: str | None = None,
    time_zone: str | None = None,
    now_millis: int | None = None,
) -> str:
    """Render with the FreeMarker engine, in ``locale`` and ``time_zone`` (default: the
    configured ones); raises TEMPLATE_SYNTAX_ERROR, TEMPLATE_METADATA_ERROR or
    TEMPLATE_READ_ERROR."""
    from twilio_connector import freemarker
    from twilio_connector.config import template_settings

    default_locale, default_zone = template_settings()
    try:
        return freemarker.render_template(
            source,
            variables,
            locale=locale or default_locale,
            time_zone=time_zone or default_zone,
            now_millis=now_millis,
        )
    except freemarker.TemplateError as exc:
        raise _connector_error(exc) from None


def _connector_error(exc: TemplateError) -> Exception:
    """The engine's error as the catalogued TEMPLATE_* error users see."""
    if exc.kind == "timeout":
        return TEMPLATE_READ_ERROR(f"The template took more than {exc.limit} s to render")
    if exc.kind == "depth":
        return TEMPLATE_READ_ERROR("The template nests too deeply to render")
    if exc.kind == "limit":
        return TEMPLATE_READ_ERROR(f"The template exceeds a limit: {exc.message}")
    where = f" at line {exc.line}, column {exc.column}"
    details = {"line": exc.line, "column": exc.column}
    if exc.kind in ("syntax", "refused"):
        return TEMPLATE_SYNTAX_ERROR(f"Template syntax error: {exc.message}{where}", **details)
    if exc.kind == "missing":
        return TEMPLATE_METADATA_ERROR(f"{exc.message}{where}", **details)
    return TEMPLATE_METADATA_ERROR(f"Template error: {exc.message}{where}", **details)


def is_plain_text(template: str) -> bool:
    """No interpolation, directive or macro call: the template renders as itself."""
    return not _FREEMARKER.search(template)


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def load_variables(metadata: object) -> dict[str, Any]:
    """``metadata`` as given: an object, a string holding one, or nothing. Numbers in a JSON
    string keep their exact decimal value (templates compute in decimal, as FreeMarker)."""
    if metadata is None or metadata == "":
        return {}
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata, parse_float=Decimal)
        except (ValueError, RecursionError):
            raise INVALID_INPUT("metadata is not valid JSON", field="metadata") from None
    if not isinstance(metadata, dict):
        raise INVALID_INPUT(
            f"metadata must be a JSON object, not a {type_name(metadata)}", field="metadata"
        )
    return metadata


def type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "sequence"
    if isinstance(value, dict):
        return "hash"
    return type(value).__name__
