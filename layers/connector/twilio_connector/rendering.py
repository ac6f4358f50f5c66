"""Templates (``smsBody``, trigger ``echo``): the checks, the plain-text fast path, ``metadata``.

The FreeMarker engine (:mod:`twilio_connector.freemarker`) is imported only for a template that
holds an interpolation (``${``, ``#{``), a directive (``<#``, ``</#``) or a macro call (``<@``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from twilio_connector.errors import INVALID_INPUT, TEMPLATE_READ_ERROR

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
    from twilio_connector.freemarker import render_template

    return render_template(template, variables, now_millis=now_millis)


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
