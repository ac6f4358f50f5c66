"""SEND_SMS: render the body once, validate every recipient, send to each, report each outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from twilio_connector import inputs
from twilio_connector.config import (
    MESSAGING_SERVICE_SID,
    Credentials,
    get_credentials,
    get_settings,
)
from twilio_connector.errors import (
    CATALOGUE,
    INVALID_INPUT,
    MISSING_INPUT,
    ConnectorError,
)
from twilio_connector.observability import logger, metrics
from twilio_connector.phone import parse_recipients, validate_sender
from twilio_connector.redaction import mask_phone
from twilio_connector.rendering import load_variables, render
from twilio_connector.twilio_api import get_client, to_resource, twilio_errors

#: Twilio's limit on a message body (https://www.twilio.com/docs/api/errors/21617).
MAX_BODY_CHARS = 1600
MAX_MEDIA = 10
#: Twilio's scheduling window for ``SendAt``.
SCHEDULE_MIN = timedelta(minutes=15)
SCHEDULE_MAX = timedelta(days=35)


@dataclass(frozen=True)
class SendSmsRequest:
    recipients: list[str]
    body_template: str | None
    variables: dict[str, Any]
    sender: str | None = None
    messaging_service_sid: str | None = None
    media_urls: list[str] = field(default_factory=list)
    status_callback: str | None = None
    send_at: datetime | None = None
    validity_period: int | None = None
    fail_on_error: bool = True  # applied by connector_action(tolerant_flag="failOnError")

    @classmethod
    def from_event(cls, event: object) -> SendSmsRequest:
        """Alfresco's names (``smsFrom``, ``smsTo``, ``smsBody``), Bizagi's (``from``, ``to``,
        ``body``) as aliases. Everything is checked here, before anything is sent."""
        event = inputs.as_event(event)
        to_field, to_value = inputs.pick(event, "smsTo", "to")
        if to_value is None:
            raise MISSING_INPUT("smsTo (or to) is required", field="smsTo")
        recipients = parse_recipients(to_value, to_field, get_settings().max_recipients)
        body_field, body = inputs.pick(event, "smsBody", "body")
        if body is not None and not isinstance(body, str):
            raise INVALID_INPUT(f"{body_field} must be a string", field=body_field)
        media_urls = inputs.url_list(event, "mediaUrl", MAX_MEDIA)
        if body is None and not media_urls:
            raise MISSING_INPUT("smsBody (or body) is required unless mediaUrl is given")
        sender = inputs.text(event, "smsFrom", "from", limit=64)
        service = inputs.text(event, "messagingServiceSid", limit=64)
        if service is not None and not MESSAGING_SERVICE_SID.match(service):
            raise INVALID_INPUT(
                "messagingServiceSid must be MG + 32 hex digits", field="messagingServiceSid"
            )
        send_at = inputs.timestamp(event, "sendAt")
        if send_at is not None:
            now = datetime.now(UTC)
            if not now + SCHEDULE_MIN <= send_at <= now + SCHEDULE_MAX:
                raise INVALID_INPUT(
                    "sendAt must be 15 minutes to 35 days ahead (Twilio's scheduling window)",
                    field="sendAt",
                )
        return cls(
            recipients=recipients,
            body_template=body,
            variables=inputs_metadata(event),
            sender=validate_sender(sender, "smsFrom") if sender else None,
            messaging_service_sid=service,
            media_urls=media_urls,
            status_callback=inputs.url(event, "statusCallback"),
            send_at=send_at,
            validity_period=inputs.integer(event, "validityPeriod", 1, 36000),
            fail_on_error=inputs.flag(event, "failOnError", default=True),
        )


def inputs_metadata(event: dict[str, Any]) -> dict[str, Any]:
    return load_variables(event.get("metadata"))


class _RecipientFailed(Exception):
    def __init__(self, index: int, to: str, error: ConnectorError) -> None:
        self.index, self.to, self.error = index, to, error


def render_body(request: SendSmsRequest) -> str | None:
    if request.body_template is None:
        return None
    body = render(request.body_template, request.variables)
    if len(body) > MAX_BODY_CHARS:
        raise INVALID_INPUT(
            f"The rendered smsBody has {len(body)} characters; Twilio accepts {MAX_BODY_CHARS}",
            field="smsBody",
        )
    if not body.strip() and not request.media_urls:
        raise INVALID_INPUT("The rendered smsBody is empty", field="smsBody")
    return body


def send_sms(request: SendSmsRequest) -> dict[str, Any]:
    """Send the message to every recipient; raise, with every outcome, if any failed."""
    body = render_body(request)
    credentials = get_credentials()
    params = _create_params(request, credentials, body)
    client = get_client(credentials)

    messages: list[dict[str, Any]] = []
    sent: list[tuple[int, str, dict[str, Any]]] = []
    failed: list[_RecipientFailed] = []
    for index, to in enumerate(request.recipients):
        try:
            with twilio_errors():
                resource = to_resource(client.messages.create(to=to, **params))
        except ConnectorError as error:
            failed.append(_RecipientFailed(index, to, error))
            logger.warning(
                "SMS not sent", extra={"to": mask_phone(to), "code": error.code, "index": index}
            )
            continue
        messages.append(resource)
        sent.append((index, to, resource))
        logger.info(
            "SMS sent", extra={"to": mask_phone(to), "sid": resource.get("sid"), "index": index}
        )

    metrics.add_metric(name="SmsSent", unit=MetricUnit.Count, value=len(sent))
    if failed:
        metrics.add_metric(name="SmsFailed", unit=MetricUnit.Count, value=len(failed))
    result = {
        "smsResult": {resource["sid"]: to for _, to, resource in sent},
        "messages": messages,
    }
    if failed:
        raise _partial_failure(result, sent, failed, len(request.recipients))
    return result


def _create_params(
    request: SendSmsRequest, credentials: Credentials, body: str | None
) -> dict[str, Any]:
    sender = request.sender or credentials.default_from
    service = request.messaging_service_sid or credentials.messaging_service_sid
    if sender is None and service is None:
        raise MISSING_INPUT(
            "smsFrom (or from) is required: the secret has no TWILIO_FROM or "
            "TWILIO_MESSAGING_SERVICE_SID default",
            field="smsFrom",
        )
    if request.send_at is not None and service is None:
        raise MISSING_INPUT(
            "sendAt needs a messagingServiceSid (Twilio schedules through a Messaging Service)",
            field="messagingServiceSid",
        )
    params: dict[str, Any] = {}
    if sender is not None:
        params["from_"] = validate_sender(sender, "TWILIO_FROM")
    if service is not None:
        params["messaging_service_sid"] = service
    if body is not None:
        params["body"] = body
    if request.media_urls:
        params["media_url"] = request.media_urls
    status_callback = request.status_callback or get_settings().status_callback_url
    if status_callback:
        params["status_callback"] = status_callback
    if request.send_at is not None:
        params["send_at"] = request.send_at
        params["schedule_type"] = "fixed"
    if request.validity_period is not None:
        params["validity_period"] = request.validity_period
    return params


def _partial_failure(
    result: dict[str, Any],
    sent: list[tuple[int, str, dict[str, Any]]],
    failed: list[_RecipientFailed],
    total: int,
) -> ConnectorError:
    """The error raised when some recipients failed: the code of the first failure, the outcome
    of each recipient (numbers masked: this message is logged by the Lambda runtime)."""
    first = failed[0].error
    error = CATALOGUE[first.code](
        f"{len(failed)} of {total} recipient(s) failed: {first.message}"
        if total > 1
        else first.message,
        **{k: v for k, v in first.details.items() if k in ("twilioCode", "status", "moreInfo")},
        sent=[
            {"index": index, "to": mask_phone(to), "sid": resource.get("sid")}
            for index, to, resource in sent
        ]
        or None,
        failed=[{"index": f.index, "to": mask_phone(f.to), **f.error.to_dict()} for f in failed]
        if total > 1
        else None,
    )
    error.partial_result = result
    error.errors = [{"index": f.index, "to": f.to, **f.error.to_dict()} for f in failed]
    return error
