"""MAKE_CALL: place a call that runs a TwiML URL, inline TwiML, or text spoken to the callee."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from typing import Any

from twilio_connector import inputs
from twilio_connector.config import get_settings
from twilio_connector.credentials import get_credentials
from twilio_connector.errors import (
    INVALID_FROM_PHONE_NUMBER_ERROR,
    INVALID_INPUT,
    INVALID_TO_PHONE_NUMBER_ERROR,
    MISSING_INPUT,
)
from twilio_connector.observability import logger
from twilio_connector.phone import REGION_FIELD, number_hint, phone_region, to_e164
from twilio_connector.redaction import mask_phone, mask_value
from twilio_connector.twilio_api import get_client, to_resource, twilio_errors

#: Twilio's limit on the ``Twiml`` parameter.
MAX_TWIML_CHARS = 4000
MAX_SAY_CHARS = 3000
_SIP = re.compile(r"^sip:[^\s@]+@[^\s]+$", re.IGNORECASE)
_CLIENT = re.compile(r"^client:[A-Za-z0-9_.@-]{1,256}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
#: Characters XML 1.0 does not allow, which no TwiML document may hold.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


#: MAKE_CALL's input fields.
MAKE_CALL_FIELDS = inputs.fields(
    "voiceUrl", "twiml", "say", "language", "statusCallback", "timeout", REGION_FIELD,
    aliases=(("callTo", "to"), ("callFrom", "from")),
)  # fmt: skip


@dataclass(frozen=True)
class MakeCallRequest:
    to: str
    sender: str | None = None
    voice_url: str | None = None
    twiml: str | None = None
    say: str | None = None
    language: str | None = None
    status_callback: str | None = None
    timeout: int | None = None
    region: str | None = None  # of national numbers (defaultPhoneRegion, DEFAULT_PHONE_REGION)

    @classmethod
    def from_event(cls, event: object) -> MakeCallRequest:
        """``callTo`` (alias ``to``), ``callFrom`` (alias ``from``), and one of ``voiceUrl``,
        ``twiml`` or ``say``."""
        event = inputs.as_event(event)
        region = phone_region(event, get_settings().default_phone_region)
        written = inputs.text(event, "callTo", "to", required=True, limit=300)
        assert written is not None
        to = written if _SIP.match(written) or _CLIENT.match(written) else to_e164(written, region)
        if to is None:
            raise INVALID_TO_PHONE_NUMBER_ERROR(
                f"callTo must be a phone number, a sip: URI or a client: identity. "
                f"{number_hint(written)}",
                field="callTo",
                value=mask_value(written),
            )
        sender = inputs.text(event, "callFrom", "from", limit=300)
        if sender is not None:
            sender = _check_caller(sender, "callFrom", region)
        given = [name for name in ("voiceUrl", "twiml", "say") if event.get(name) not in (None, "")]
        if len(given) > 1:
            raise INVALID_INPUT(
                f"Give one of voiceUrl, twiml or say, not {' and '.join(given)}", field=given[1]
            )
        twiml = inputs.text(event, "twiml", limit=MAX_TWIML_CHARS)
        if twiml is not None:
            _check_twiml(twiml)
        language = inputs.text(event, "language", limit=16)
        if language is not None and not _LANGUAGE.match(language):
            raise INVALID_INPUT("language must be a language tag such as en-US", field="language")
        say = inputs.text(event, "say", limit=MAX_SAY_CHARS)
        for name, value in (("say", say), ("twiml", twiml)):
            if value is not None and _NOT_XML.search(value):
                raise INVALID_INPUT(
                    f"{name} holds control characters TwiML cannot carry", field=name
                )
        return cls(
            to=to,
            sender=sender,
            voice_url=inputs.url(event, "voiceUrl"),
            twiml=twiml,
            say=say,
            language=language,
            status_callback=inputs.url(event, "statusCallback"),
            timeout=inputs.integer(event, "timeout", 5, 600),
            region=region,
        )


def _check_caller(sender: str, field: str, region: str | None) -> str:
    """A caller: a phone number (returned in E.164) or a client: identity."""
    if _CLIENT.match(sender):
        return sender
    number = to_e164(sender, region)
    if number is not None:
        return number
    raise INVALID_FROM_PHONE_NUMBER_ERROR(
        f"{field} must be a phone number or a client: identity. {number_hint(sender)}",
        field=field,
        value=mask_value(sender),
    )


def _check_twiml(twiml: str) -> None:
    try:
        root = ElementTree.fromstring(twiml)  # noqa: S314 - size-capped; expat limits expansion
    except ElementTree.ParseError as exc:
        raise INVALID_INPUT(f"twiml is not well-formed XML ({exc})", field="twiml") from None
    if root.tag != "Response":
        raise INVALID_INPUT("twiml must be a <Response> document", field="twiml")


def spoken_twiml(text: str, language: str | None) -> str:
    """TwiML that says ``text``, built with twilio's VoiceResponse (escaping included)."""
    from twilio.twiml.voice_response import VoiceResponse

    response = VoiceResponse()
    response.say(text, language=language) if language else response.say(text)
    return str(response)


def make_call(request: MakeCallRequest) -> dict[str, Any]:
    credentials = get_credentials()
    sender = request.sender or credentials.default_from
    if sender is None:
        raise MISSING_INPUT(
            "callFrom (or from) is required: the secret has no TWILIO_FROM default",
            field="callFrom",
        )
    sender = _check_caller(sender, "TWILIO_FROM", request.region)
    params: dict[str, Any] = {"to": request.to, "from_": sender}
    if request.say is not None:
        params["twiml"] = spoken_twiml(request.say, request.language)
    elif request.twiml is not None:
        params["twiml"] = request.twiml
    elif request.voice_url or credentials.voice_url:
        params["url"] = request.voice_url or credentials.voice_url
    else:
        raise MISSING_INPUT(
            "Give voiceUrl, twiml or say: the secret has no TWILIO_VOICE_URL default",
            field="voiceUrl",
        )
    if request.status_callback:
        params["status_callback"] = request.status_callback
    if request.timeout is not None:
        params["timeout"] = request.timeout
    client = get_client(credentials)
    with twilio_errors():
        call = to_resource(client.calls.create(**params))
    logger.info("Call placed", extra={"to": mask_phone(request.to), "sid": call.get("sid")})
    return call
