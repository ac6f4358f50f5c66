"""Twilio webhooks behind API Gateway: the URL Twilio signed, the parameters, the signature.

Twilio signs the exact URL it called (scheme, host, stage path, query string) plus the form
parameters (https://www.twilio.com/docs/usage/webhooks/webhooks-security). Behind API Gateway
that URL is rebuilt from the proxy event, or from ``PUBLIC_WEBHOOK_URL`` for custom domains.
The check itself is twilio's ``RequestValidator``.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode


class FormParams(dict[str, str]):
    """Form parameters keeping blank values and repeated keys (``getlist``, as the validator
    expects); ``params[key]`` is the first value."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__()
        self._lists: dict[str, list[str]] = {}
        for key, value in pairs:
            self._lists.setdefault(key, []).append(value)
            self.setdefault(key, value)

    def getlist(self, key: str) -> list[str]:
        return self._lists.get(key, [])


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def has_signature(event: dict[str, Any]) -> bool:
    return bool(_header(event, "X-Twilio-Signature"))


def raw_body(event: dict[str, Any]) -> str:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""
    return body


def is_json(event: dict[str, Any]) -> bool:
    return (_header(event, "Content-Type") or "").split(";")[
        0
    ].strip().lower() == "application/json"


def form_params(event: dict[str, Any]) -> FormParams:
    """The request's parameters: the form body with blank values and repeated keys kept, or
    the text fields of a JSON object body."""
    if is_json(event):
        try:
            data = json.loads(raw_body(event) or "{}")
        except ValueError:
            return FormParams([])
        items = data.items() if isinstance(data, dict) else []
        return FormParams([(k, v) for k, v in items if isinstance(v, str)])
    return FormParams(parse_qsl(raw_body(event), keep_blank_values=True))


def request_url(event: dict[str, Any], public_base_url: str | None) -> str:
    """The URL Twilio called. With ``public_base_url`` (``https://hooks.example.com/twilio``),
    it is that base and the route (``/sms``); otherwise scheme, host and the stage path from
    the event. The query string is appended in the order API Gateway kept it."""
    context = event.get("requestContext") or {}
    if public_base_url:
        base = public_base_url + (event.get("resource") or event.get("path") or "")
    else:
        scheme = (_header(event, "X-Forwarded-Proto") or "https").split(",")[0].strip()
        host = _header(event, "Host") or context.get("domainName") or ""
        path = context.get("path") or event.get("path") or "/"
        base = f"{scheme}://{host}{path}"
    query = event.get("multiValueQueryStringParameters") or {
        key: [value] for key, value in (event.get("queryStringParameters") or {}).items()
    }
    return f"{base}?{urlencode(query, doseq=True)}" if query else base


def signature_is_valid(
    event: dict[str, Any],
    token: str,
    public_base_url: str | None,
    form: FormParams | None = None,
) -> bool:
    """Whether ``X-Twilio-Signature`` verifies; ``form`` is the request's parameters when the
    caller parsed them already (``form_params(event)``)."""
    from twilio.request_validator import RequestValidator, get_signature_algorithm

    signature = _header(event, "X-Twilio-Signature")
    if not signature:
        return False
    url = request_url(event, public_base_url)
    # A JSON body is signed through the bodySHA256 query parameter, not as parameters.
    params: FormParams | str = (
        raw_body(event) if is_json(event) else form if form is not None else form_params(event)
    )
    algorithm = get_signature_algorithm(_header(event, "X-Twilio-Webhooks-Signature-Settings"))
    return RequestValidator(token).validate(url, params, signature, algorithm)
