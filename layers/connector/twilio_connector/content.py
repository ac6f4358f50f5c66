"""SEND_SMS's Content templates (WhatsApp business-initiated messages, rich SMS): ``contentSid``
and ``contentVariables``, sent as Twilio's ``ContentSid`` and ``ContentVariables`` (a JSON
string). Each variable's value is a FreeMarker template rendered against ``metadata``, as
``smsBody`` is."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from twilio_connector import inputs
from twilio_connector.errors import INVALID_INPUT, ConnectorError
from twilio_connector.rendering import render, type_name

#: Twilio's Content SID (the spec's pattern for ``ContentSid``).
CONTENT_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")
MAX_VARIABLES = 100
MAX_KEY_CHARS = 64


def content_sid(event: dict[str, Any]) -> str | None:
    sid = inputs.text(event, "contentSid", limit=64)
    if sid is not None and not CONTENT_SID.match(sid):
        raise INVALID_INPUT("contentSid must be HX + 32 hex digits", field="contentSid")
    return sid


def content_variables(event: dict[str, Any], sid: str | None) -> dict[str, str] | None:
    """``contentVariables``: an object of string keys to string values (templates), or a string
    holding one (BPMN engines pass strings)."""
    value = event.get("contentVariables")
    if value is None or value == "" or value == {}:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise INVALID_INPUT(
                "contentVariables is not valid JSON", field="contentVariables"
            ) from None
    if not isinstance(value, dict):
        raise INVALID_INPUT(
            f"contentVariables must be an object of strings, not a {type_name(value)}",
            field="contentVariables",
        )
    if sid is None:
        raise INVALID_INPUT(
            "contentVariables fill a Content template: give its contentSid",
            field="contentVariables",
        )
    if len(value) > MAX_VARIABLES:
        raise INVALID_INPUT(
            f"contentVariables holds more than {MAX_VARIABLES} variables", field="contentVariables"
        )
    for key, item in value.items():
        shown = key[:MAX_KEY_CHARS]
        if not key.strip() or len(key) > MAX_KEY_CHARS or not inputs.is_text(key):
            raise INVALID_INPUT(
                f"contentVariables' names must be 1 to {MAX_KEY_CHARS} characters of text",
                field="contentVariables",
            )
        if not isinstance(item, str):
            raise INVALID_INPUT(
                f"contentVariables.{shown} must be a string, not a {type_name(item)}",
                field="contentVariables",
            )
    return value


def render_variables(
    templates: Mapping[str, str], variables: Mapping[str, Any], now_millis: int | None = None
) -> str:
    """``ContentVariables``: each value rendered against ``metadata``, as a JSON string."""
    rendered = {}
    for key, template in templates.items():
        try:
            rendered[key] = render(template, variables, now_millis=now_millis)
        except ConnectorError as error:
            error.details.setdefault("field", "contentVariables")
            error.details.setdefault("variable", key[:MAX_KEY_CHARS])
            raise
        if not inputs.is_text(rendered[key]):
            raise INVALID_INPUT(
                f"The rendered contentVariables.{key[:MAX_KEY_CHARS]} holds characters that are "
                "not text",
                field="contentVariables",
            )
    return json.dumps(rendered, ensure_ascii=False, separators=(",", ":"))
