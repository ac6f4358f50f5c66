"""VERIFY_START and VERIFY_CHECK: one-time codes through Twilio Verify v2.

VERIFY_START asks the Verify Service to send a code to ``to`` over ``channel`` (sms, call,
whatsapp, email); VERIFY_CHECK checks the code the person gave. A wrong code is an answer
(``valid: false``, ``status: pending``), not an error; Twilio's 60202 (five wrong codes) and
60203 (five codes sent) are ``VERIFICATION_MAX_ATTEMPTS_ERROR``, and a check with no pending
verification (never started, expired after 10 minutes, already approved) is ``NOT_FOUND``.

The Verify Service (``VA...``) is the function's ``VERIFY_SERVICE_SID`` (template parameter
``VerifyServiceSid``) when set, else the secret's ``TWILIO_VERIFY_SERVICE_SID``. Codes never reach
a log; numbers and e-mail addresses are masked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

from aws_lambda_powertools.metrics import MetricUnit

from twilio_connector import inputs
from twilio_connector.config import get_settings
from twilio_connector.credentials import VERIFY_SERVICE_SID, get_credentials
from twilio_connector.errors import INVALID_INPUT, INVALID_TO_PHONE_NUMBER_ERROR, MISSING_INPUT
from twilio_connector.observability import logger, metrics
from twilio_connector.phone import REGION_FIELD, number_hint, phone_region, to_e164
from twilio_connector.redaction import mask_phone, mask_value
from twilio_connector.twilio_api import OutcomeUnknown, call_twilio, get_client

CHANNELS = ("sms", "call", "whatsapp", "email")
#: Verify's codes are 4 to 10 digits (the Service's code length).
_CODE = re.compile(r"[0-9]{4,10}")  # ASCII digits: \d would take "١٢٣٤"
#: A locale Verify knows is a language, optionally with a region or script (en, pt-BR, zh-HK).
_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
#: An e-mail address, as far as the connector checks it (Verify checks the rest: 60200).
_EMAIL = re.compile(r"^[^\s@]{1,64}@[^\s@]+\.[^\s@]+$")
#: Verify's limit on ``CustomFriendlyName``.
MAX_FRIENDLY_NAME = 30


#: VERIFY_START's and VERIFY_CHECK's input fields.
START_FIELDS = inputs.fields("to", "channel", "locale", "customFriendlyName", REGION_FIELD)
CHECK_FIELDS = inputs.fields("to", "code", REGION_FIELD)


class StartRequest(NamedTuple):
    to: str  # E.164, or an e-mail address for the email channel
    channel: str = "sms"
    locale: str | None = None
    custom_friendly_name: str | None = None

    @classmethod
    def from_event(cls, event: object) -> StartRequest:
        """``to``, ``channel`` (default ``sms``), ``locale``, ``customFriendlyName``."""
        event = inputs.as_event(event)
        channel = (inputs.text(event, "channel", limit=16) or "sms").lower()
        if channel not in CHANNELS:
            raise INVALID_INPUT(f"channel must be one of {', '.join(CHANNELS)}", field="channel")
        locale = inputs.text(event, "locale", limit=16)
        if locale is not None and not _LOCALE.match(locale):
            raise INVALID_INPUT("locale must be a language tag such as en or pt-BR", field="locale")
        name = inputs.text(event, "customFriendlyName", limit=MAX_FRIENDLY_NAME)
        return cls(
            to=_recipient(event, channel), channel=channel, locale=locale, custom_friendly_name=name
        )


class CheckRequest(NamedTuple):
    to: str
    code: str

    @classmethod
    def from_event(cls, event: object) -> CheckRequest:
        """``to`` (the number or address VERIFY_START sent to) and ``code`` (4 to 10 digits)."""
        event = inputs.as_event(event)
        code = event.get("code")
        if code is None or code == "":
            raise MISSING_INPUT("code is required", field="code")
        if not isinstance(code, str) or not _CODE.fullmatch(code.strip()):
            raise INVALID_INPUT(
                "code must be the code as a string of 4 to 10 digits (a string keeps its "
                "leading zeros)",
                field="code",
            )
        written = inputs.text(event, "to", required=True, limit=320)
        assert written is not None
        channel = "email" if "@" in written else "sms"
        return cls(to=_recipient(event, channel), code=code.strip())


def _recipient(event: dict[str, Any], channel: str) -> str:
    written = inputs.text(event, "to", required=True, limit=320)
    assert written is not None
    if channel == "email":
        if not _EMAIL.match(written):
            raise INVALID_INPUT("to must be an e-mail address for channel email", field="to")
        return written
    if written[:9].lower() == "whatsapp:":  # Verify takes the number alone, whatever the channel
        written = written[9:].strip()
    number = to_e164(written, phone_region(event, get_settings().default_phone_region))
    if number is None:
        raise INVALID_TO_PHONE_NUMBER_ERROR(
            f"to must be a phone number. {number_hint(written)}",
            field="to",
            value=mask_value(written),
        )
    return number


def verify_service_sid() -> str:
    """The Verify Service: ``VERIFY_SERVICE_SID``, else the secret's
    ``TWILIO_VERIFY_SERVICE_SID``."""
    configured = get_settings().verify_service_sid
    name = "VERIFY_SERVICE_SID"
    if configured is None:
        configured, name = get_credentials().verify_service_sid, "TWILIO_VERIFY_SERVICE_SID"
    if configured is None:
        raise MISSING_INPUT(
            "No Verify Service: set the template parameter VerifyServiceSid (VERIFY_SERVICE_SID) "
            "or the secret's TWILIO_VERIFY_SERVICE_SID",
            field="VERIFY_SERVICE_SID",
        )
    if not VERIFY_SERVICE_SID.match(configured):
        raise INVALID_INPUT(f"{name} is not a Verify Service SID (VA + 32 hex digits)", field=name)
    return configured


def start_verification(request: StartRequest) -> dict[str, Any]:
    """Send a code; ``{"to", "status": "pending", "channel", "sid"}``. Starting again for the
    same ``to`` within 10 minutes sends the same verification's code again (Twilio's rule)."""
    service = get_client().verify.v2.services(verify_service_sid())
    params: dict[str, Any] = {"to": request.to, "channel": request.channel}
    if request.locale:
        params["locale"] = request.locale
    if request.custom_friendly_name:
        params["custom_friendly_name"] = request.custom_friendly_name
    verification = _once(lambda: service.verifications.create(**params))
    metrics.add_metric(name="VerificationsStarted", unit=MetricUnit.Count, value=1)
    logger.info(
        "Verification started",
        extra={"to": mask_address(request.to), "channel": request.channel, "sid": verification.sid},
    )
    return {
        "to": verification.to,
        "status": verification.status,
        "channel": verification.channel,
        "sid": verification.sid,
    }


def check_verification(request: CheckRequest) -> dict[str, Any]:
    """Check a code; ``{"to", "status", "valid", "sid"}``: ``approved`` and ``valid: true`` for
    the right code, ``pending`` and ``valid: false`` for a wrong one."""
    service = get_client().verify.v2.services(verify_service_sid())
    check = _once(lambda: service.verification_checks.create(to=request.to, code=request.code))
    approved = check.status == "approved"
    metrics.add_metric(
        name="VerificationsApproved" if approved else "VerificationCodesRejected",
        unit=MetricUnit.Count,
        value=1,
    )
    logger.info(
        "Verification checked",
        extra={"to": mask_address(request.to), "status": check.status, "sid": check.sid},
    )
    return {"to": check.to, "status": check.status, "valid": bool(check.valid), "sid": check.sid}


def _once[T](call: Callable[[], T]) -> T:
    """A Verify request that changes state: retried only when Twilio did nothing (429, 503, a
    refused connection); a lost answer is ``TWILIO_CONNECTION_ERROR`` (a retried start sends the
    pending verification's code again; a retried check counts one more attempt, or answers
    ``NOT_FOUND`` when the lost one approved it: Twilio forgets approved verifications)."""
    try:
        return call_twilio(call, changes_state=True)
    except OutcomeUnknown as lost:
        raise lost.error from None


def mask_address(address: str) -> str:
    """A number masked as everywhere (``+1********00``); an e-mail address to its first character
    and its domain (``a***@example.com``)."""
    local, at, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if at else mask_phone(address)
