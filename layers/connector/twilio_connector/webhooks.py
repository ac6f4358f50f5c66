"""Twilio webhooks behind API Gateway: the URL Twilio signed, the parameters, the signature.

Twilio signs the exact URL it called (scheme, host, stage path, query string) plus the form
parameters (https://www.twilio.com/docs/usage/webhooks/webhooks-security). Behind API Gateway
that URL is rebuilt from the proxy event, or from ``PUBLIC_WEBHOOK_URL`` for custom domains.
The check itself is twilio's ``RequestValidator``.

A request is bounded before anything parses it: at most ``MAX_BODY_BYTES`` of body and
``MAX_FIELDS`` form fields (Twilio's own webhooks are a few kilobytes and a few dozen fields),
so that a forged request costs no more than a genuine one before it is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

#: The largest body read (64 KiB): a 1,600-character message percent-encoded, with every field
#: Twilio adds (media, WhatsApp, geography), is under 20 KiB.
MAX_BODY_BYTES = 64 * 1024
#: The most form fields parsed: Twilio sends about 25, and 20 more per message with ten media.
MAX_FIELDS = 256
#: The algorithms of ``X-Twilio-Webhooks-Signature-Settings`` that twilio's validator knows.
SIGNATURE_ALGORITHMS = ("HMAC_SHA1", "HMAC_SHA256")


class WebhookTooLarge(ValueError):
    """The request's body or form is larger than any webhook Twilio sends (answered 413)."""


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
    """The request's body as text; ``WebhookTooLarge`` beyond ``MAX_BODY_BYTES``."""
    body = event.get("body") or ""
    if not isinstance(body, str):
        return ""
    encoded = bool(event.get("isBase64Encoded"))
    # checked before decoding: base64 is 4 characters for 3 bytes, UTF-8 at least 1 per char
    if len(body) > (MAX_BODY_BYTES * 4 // 3 + 4 if encoded else MAX_BODY_BYTES):
        raise WebhookTooLarge(f"The body is larger than {MAX_BODY_BYTES} bytes")
    if encoded:
        try:
            body = base64.b64decode(body).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""
    if len(body.encode("utf-8")) > MAX_BODY_BYTES:
        raise WebhookTooLarge(f"The body is larger than {MAX_BODY_BYTES} bytes")
    return body


def is_json(event: dict[str, Any]) -> bool:
    return (_header(event, "Content-Type") or "").split(";")[
        0
    ].strip().lower() == "application/json"


def form_params(event: dict[str, Any]) -> FormParams:
    """The request's parameters: the form body with blank values and repeated keys kept, or
    the text fields of a JSON object body. ``WebhookTooLarge`` beyond ``MAX_BODY_BYTES`` or
    ``MAX_FIELDS``."""
    if is_json(event):
        try:
            data = json.loads(raw_body(event) or "{}")
        except (ValueError, RecursionError):  # (RecursionError: "[[[[..." nested past the stack)
            return FormParams([])
        items = data.items() if isinstance(data, dict) else []
        if len(items) > MAX_FIELDS:
            raise WebhookTooLarge(f"The body has more than {MAX_FIELDS} fields")
        return FormParams([(k, v) for k, v in items if isinstance(v, str)])
    try:
        pairs = parse_qsl(raw_body(event), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError as exc:  # parse_qsl counts the separators before it parses anything
        if isinstance(exc, WebhookTooLarge):
            raise
        raise WebhookTooLarge(f"The body has more than {MAX_FIELDS} fields") from None
    return FormParams(pairs)


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
    algorithm = get_signature_algorithm(_header(event, "X-Twilio-Webhooks-Signature-Settings"))
    if algorithm.upper() not in SIGNATURE_ALGORITHMS:
        # refused here: twilio's validator would log the header's text as it came (CR/LF too)
        # through the root logger, outside the connector's redaction
        from twilio_connector.observability import logger

        logger.warning(
            "Webhook signature settings name an unknown algorithm",
            extra={"algorithm": _printable(algorithm)},
        )
        return False
    if is_json(event):
        # A JSON body is signed through the bodySHA256 query parameter, not as parameters:
        # without it there is nothing the signature covers (twilio's validator would fail on
        # the text body with a TypeError)
        if "bodySHA256" not in parse_qs(urlsplit(url).query):
            return False
        params: FormParams | str = raw_body(event)
    else:
        params = form if form is not None else form_params(event)
    return RequestValidator(token).validate(url, params, signature, algorithm)


def _printable(text: str, limit: int = 32) -> str:
    """``text`` cut to ``limit`` characters, anything but printable ASCII as ``?``."""
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text[:limit])
