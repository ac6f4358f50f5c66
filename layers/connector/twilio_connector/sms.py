"""SEND_SMS: render the body once, validate every recipient, send to each, report each outcome."""

from __future__ import annotations

import contextvars
import json
import logging
import threading
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from queue import SimpleQueue
from typing import Any, NamedTuple

from aws_lambda_powertools.metrics import MetricUnit

from twilio_connector import content, inputs, optouts, segments, task_tokens
from twilio_connector.config import get_settings
from twilio_connector.credentials import MESSAGING_SERVICE_SID, Credentials, get_credentials
from twilio_connector.errors import (
    CATALOGUE,
    CONFLICT,
    GATEWAY_TIMEOUT,
    INVALID_INPUT,
    MISSING_INPUT,
    PERMISSION_DENIED_ERROR,
    SEND_OUTCOME_AMBIGUOUS,
    SERVICE_UNAVAILABLE,
    TOO_MANY_SEGMENTS,
    ConnectorError,
)
from twilio_connector.ledger import (
    CLAIM_BATCH,
    RECORD_BATCH,
    Claim,
    Decision,
    SendLedger,
    digest,
    request_key,
)
from twilio_connector.observability import count, logger, metrics
from twilio_connector.phone import parse_recipients, phone_region, validate_sender
from twilio_connector.redaction import mask_phone
from twilio_connector.rendering import is_plain_text, load_variables, render
from twilio_connector.twilio_api import (
    MIN_CALL_SECONDS,
    OutcomeUnknown,
    call_twilio,
    get_client,
    time_left,
    to_resource,
)

#: Outcomes listed in an error message (Step Functions keeps 32 KiB of an error's cause).
MAX_LISTED = 50
#: Twilio's limit on a message body (https://www.twilio.com/docs/api/errors/21617).
MAX_BODY_CHARS = 1600
MAX_MEDIA = 10
#: Twilio's scheduling window for ``SendAt``.
SCHEDULE_MIN = timedelta(minutes=15)
SCHEDULE_MAX = timedelta(days=35)


#: SEND_SMS's input fields.
SEND_SMS_FIELDS = inputs.fields(
    "defaultPhoneRegion", "metadata", "messagingServiceSid", "mediaUrl", "statusCallback",
    "sendAt", "sendAtOffset", "validityPeriod", "idempotencyKey", "taskToken", "waitFor",
    "failOnError", "contentSid", "contentVariables", "smartEncoding", "maxSegments",
    "sendConcurrency",
    aliases=(("smsTo", "to"), ("smsBody", "body"), ("smsFrom", "from")),
    dry_run=True,
)  # fmt: skip


class SendSmsRequest(NamedTuple):  # immutable, and cheaper to create at import than a dataclass
    recipients: list[str]
    body_template: str | None
    variables: dict[str, Any]
    sender: str | None = None
    messaging_service_sid: str | None = None
    media_urls: tuple[str, ...] | list[str] = ()
    status_callback: str | None = None
    send_at: datetime | None = None
    region: str | None = None  # of national numbers (defaultPhoneRegion, DEFAULT_PHONE_REGION)
    send_at_offset: bool = False  # sendAt was given with a sendAtOffset
    validity_period: int | None = None
    idempotency_key: str | None = None
    task_token: str | None = None
    wait_for: str = "delivery"
    fail_on_error: bool = True  # applied by connector_action(tolerant_flag="failOnError")
    dry_run: bool = False  # check and render, send nothing
    content_sid: str | None = None  # a Content template (HX...) instead of smsBody
    content_variables: dict[str, str] | None = None  # its variables, each a template
    smart_encoding: bool = False  # SmartEncoded: Twilio replaces curly quotes, dashes...
    max_segments: int | None = None  # a rendered body over this many segments is refused
    send_concurrency: int | None = None  # at most this many sends at once (SEND_CONCURRENCY's)

    @classmethod
    def from_event(cls, event: object) -> SendSmsRequest:
        """Alfresco's names (``smsFrom``, ``smsTo``, ``smsBody``), Bizagi's (``from``, ``to``,
        ``body``) as aliases. Everything is checked here, before anything is sent."""
        event = inputs.as_event(event)
        to_field, to_value = inputs.pick(event, "smsTo", "to")
        if to_value is None:
            raise MISSING_INPUT("smsTo (or to) is required", field="smsTo")
        settings = get_settings()
        region = phone_region(event, settings.default_phone_region)
        recipients = parse_recipients(to_value, to_field, settings.max_recipients, region)
        body_field, body = inputs.pick(event, "smsBody", "body")
        if body is not None and not isinstance(body, str):
            raise INVALID_INPUT(f"{body_field} must be a string", field=body_field)
        media_urls = inputs.url_list(event, "mediaUrl", MAX_MEDIA)
        content_sid = content.content_sid(event)
        if content_sid is not None and body is not None:
            raise INVALID_INPUT(
                f"Give {body_field} or contentSid (a Content template), not both",
                field="contentSid",
                conflictsWith=body_field,
            )
        if body is None and not media_urls and content_sid is None:
            raise MISSING_INPUT(
                "smsBody (or body) is required unless mediaUrl or contentSid is given",
                field="smsBody",
            )
        sender = inputs.text(event, "smsFrom", "from", limit=64)
        service = inputs.text(event, "messagingServiceSid", limit=64)
        if service is not None and not MESSAGING_SERVICE_SID.match(service):
            raise INVALID_INPUT(
                "messagingServiceSid must be MG + 32 hex digits", field="messagingServiceSid"
            )
        send_at = inputs.timestamp(event, "sendAt", zone_required=True)
        offset = inputs.duration(event, "sendAtOffset")
        if offset is not None:
            if send_at is None:
                raise MISSING_INPUT("sendAtOffset needs sendAt", field="sendAt")
            try:
                send_at += offset  # e.g. the appointment's time, less a day
            except OverflowError:
                raise INVALID_INPUT(
                    "sendAt with its sendAtOffset is out of range", field="sendAtOffset"
                ) from None
        return cls(
            recipients=recipients,
            body_template=body,
            variables=load_variables(event.get("metadata")),
            sender=validate_sender(sender, "smsFrom", region) if sender else None,
            messaging_service_sid=service,
            media_urls=media_urls,
            status_callback=inputs.url(event, "statusCallback"),
            send_at=send_at,
            region=region,
            send_at_offset=offset is not None,
            validity_period=inputs.integer(event, "validityPeriod", 1, 36000),
            send_concurrency=inputs.integer(event, "sendConcurrency", 1, 1000),
            idempotency_key=inputs.text(event, "idempotencyKey", limit=512),
            task_token=_task_token(event, recipients),
            wait_for=_wait_for(event),
            fail_on_error=inputs.flag(event, "failOnError", default=True),
            dry_run=inputs.flag(event, "dryRun", default=False),
            content_sid=content_sid,
            content_variables=content.content_variables(event, content_sid),
            smart_encoding=inputs.flag(event, "smartEncoding", default=False),
            max_segments=inputs.integer(event, "maxSegments", 1, 10),
        )


def _task_token(event: dict[str, Any], recipients: list[str]) -> str | None:
    token = inputs.text(event, "taskToken", limit=4096)
    if token is not None and len(recipients) != 1:
        raise INVALID_INPUT("taskToken waits on one message: give one recipient", field="smsTo")
    return token


def _wait_for(event: dict[str, Any]) -> str:
    wait_for = inputs.text(event, "waitFor", limit=16) or task_tokens.DELIVERY
    if wait_for not in task_tokens.WAIT_KINDS:
        raise INVALID_INPUT("waitFor must be delivery or reply", field="waitFor")
    return wait_for


class _RecipientFailed(Exception):
    def __init__(self, index: int, to: str, error: ConnectorError) -> None:
        self.index, self.to, self.error = index, to, error


def render_body(request: SendSmsRequest, now: float | None = None) -> str | None:
    """The body rendered against the metadata (``.now``: ``now``, epoch seconds, if given)."""
    if request.body_template is None:
        return None
    template = request.body_template
    if len(template) > MAX_BODY_CHARS and is_plain_text(template):  # the body is the template
        raise _too_long(len(template))
    now_millis = None if now is None else round(now * 1000)
    try:
        body = render(template, request.variables, now_millis=now_millis)
    except ConnectorError as error:  # the template's errors name the input they are about
        error.details.setdefault("field", "smsBody")
        raise
    if not inputs.is_text(body):
        raise INVALID_INPUT(
            "The rendered smsBody holds characters that are not text", field="smsBody"
        )
    if len(body) > MAX_BODY_CHARS:
        raise _too_long(len(body))
    if not body.strip() and not request.media_urls:
        raise INVALID_INPUT("The rendered smsBody is empty", field="smsBody")
    if request.max_segments is not None:
        counted = segments.count(body, request.smart_encoding)
        if counted.segments > request.max_segments:
            raise TOO_MANY_SEGMENTS(
                f"The rendered smsBody takes {counted.segments} SMS segments ({counted.encoding}); "
                f"maxSegments is {request.max_segments}. Nothing was sent",
                field="smsBody",
                segments=counted.segments,
                maxSegments=request.max_segments,
                encoding=counted.encoding,
            )
    return body


def render_content(request: SendSmsRequest, now: float | None = None) -> str | None:
    """``ContentVariables``: the Content template's variables rendered against the metadata."""
    if request.content_variables is None:
        return None
    now_millis = None if now is None else round(now * 1000)
    return content.render_variables(request.content_variables, request.variables, now_millis)


def _counted(request: SendSmsRequest, body: str | None) -> dict[str, Any]:
    """A message's ``segments`` and ``encoding``: counted by the connector as Twilio counts
    them (once per body: :func:`segments.count` is cached); null without a body (a Content
    template's text is Twilio's)."""
    if body is None:
        return {"segments": None, "encoding": None}
    counted = segments.count(body, request.smart_encoding)
    return {"segments": counted.segments, "encoding": counted.encoding}


def _too_long(length: int) -> INVALID_INPUT:
    return INVALID_INPUT(
        f"The rendered smsBody has {length:,} characters; Twilio accepts {MAX_BODY_CHARS:,}",
        field="smsBody",
    )


def send_sms(request: SendSmsRequest) -> dict[str, Any]:
    """Send the message to every recipient, at most once per (request, recipient) however often
    the request is retried; raise, with every outcome, if any recipient failed."""
    body = render_body(request)  # the template's errors, before anything is kept
    variables = render_content(request)
    if request.dry_run:
        return _dry_run(request, body, variables)
    table = get_settings().idempotency_table
    key = _request_key(request)
    ledger = SendLedger(table) if table else None
    retried = False
    if ledger is not None and (request.idempotency_key or _depends_on_time(request)):
        # the request's first attempt: its retries render .now as it did, and an accepted
        # schedule is replayed, not checked again against a clock that has moved on
        first_at, retried = ledger.begin(key, _fingerprint(request))
        if _uses_now(request):
            body = render_body(request, now=first_at)
            variables = render_content(request, now=first_at)
    if not retried:
        _check_schedule(request)
    if get_settings().log_message_bodies:
        logger.debug("SMS body (LOG_MESSAGE_BODIES is on)", extra={"body": body})
    credentials = get_credentials()
    params = _create_params(request, credentials, body, variables)
    client = get_client(credentials)
    if ledger is not None:
        ledger.content = digest(_compared(params))
        ledger.unknown_hold = _unknown_hold()
    sender = Sender(client, params, ledger, key)
    skipped = optouts.skipped(params, request.recipients)  # unreadable: nothing is sent
    recipients = [to for to in request.recipients if to not in skipped]
    indexes = [i for i, to in enumerate(request.recipients) if to not in skipped]
    if skipped and request.task_token and not recipients:
        raise PERMISSION_DENIED_ERROR(
            f"{mask_phone(request.recipients[0])} has opted out of this sender (STOP): "
            "nothing was sent, and no reply or delivery will come",
            twilioCode=optouts.UNSUBSCRIBED,
        )

    messages: list[dict[str, Any]] = []
    sent: list[tuple[int, str, dict[str, Any]]] = []
    failed: list[_RecipientFailed] = []
    debug = logger.isEnabledFor(logging.DEBUG)
    counted = _counted(request, body)
    outcomes = _send_all(sender, recipients, request.send_concurrency) if recipients else []
    for index, to, outcome in zip(indexes, recipients, outcomes, strict=True):
        if isinstance(outcome, ConnectorError):
            failed.append(_RecipientFailed(index, to, outcome))
            logger.warning(
                "SMS not sent", extra={"to": mask_phone(to), "code": outcome.code, "index": index}
            )
            continue
        # a copy: the ledger's writer thread may be writing the resource Twilio answered
        outcome = {**outcome, **counted}
        messages.append(outcome)
        sent.append((index, to, outcome))
        # per recipient only at DEBUG: a line costs ~0.15 ms of CPU, and a thousand of them
        # are a tenth of a 1,000-recipient send (make bench)
        if debug:
            logger.debug(
                "SMS sent", extra={"to": mask_phone(to), "sid": outcome.get("sid"), "index": index}
            )
    logger.info(
        "SEND_SMS done",
        extra={"sentCount": len(sent), "failedCount": len(failed), "skippedCount": len(skipped)},
    )
    if unsubscribed := [
        f.to for f in failed if f.error.details.get("twilioCode") == optouts.UNSUBSCRIBED
    ]:
        optouts.on_unsubscribed(params, unsubscribed, key)

    metrics.add_metric(name="SmsSent", unit=MetricUnit.Count, value=len(sent))
    if skipped:
        metrics.add_metric(name="SmsSkipped", unit=MetricUnit.Count, value=len(skipped))
    if failed:
        metrics.add_metric(name="SmsFailed", unit=MetricUnit.Count, value=len(failed))
        for code, n in Counter(failure.error.code for failure in failed).items():
            count("SmsFailed", n, ErrorCode=code)
    result = _fitted(
        {
            "smsResult": {resource["sid"]: to for _, to, resource in sent},
            "messages": messages,
            # nothing went out now: every message was sent by an earlier attempt of this request
            "replayed": bool(sent) and all(to in sender.replayed for _, to, _ in sent),
            # recipients not sent to, with the reason: {"+14155550100": "OPTED_OUT"}
            "skipped": skipped,
        }
    )
    if failed:
        raise _partial_failure(result, sent, failed, len(request.recipients))
    if request.task_token:
        _park(request, messages[0])
    return result


def _dry_run(request: SendSmsRequest, body: str | None, variables: str | None) -> dict[str, Any]:
    """``dryRun: true``: everything a send checks (recipients, template, sender, schedule, the
    secret's defaults, the opt-out list), and what would be sent; nothing reaches Twilio or the
    ledger. A recipient the send would skip has its reason (``skipped``) in its message."""
    _check_schedule(request)
    params = _create_params(request, get_credentials(), body, variables)
    logger.info("SEND_SMS dry run: nothing sent", extra={"recipientCount": len(request.recipients)})
    counted = _counted(request, body)
    skipped = optouts.skipped(params, request.recipients)
    return {
        "dryRun": True,
        "smsResult": {},
        "messages": [
            {
                "to": to,
                "body": body,
                **counted,
                **({"skipped": skipped[to]} if to in skipped else {}),
            }
            for to in request.recipients
        ],
        "skipped": skipped,
        "wouldSend": {
            "recipients": [to for to in request.recipients if to not in skipped],
            "from": params.get("from_"),
            "messagingServiceSid": params.get("messaging_service_sid"),
            "body": body,
            "mediaUrl": list(request.media_urls),
            "sendAt": request.send_at.isoformat() if request.send_at else None,
            "validityPeriod": request.validity_period,
            "contentSid": request.content_sid,
            "contentVariables": json.loads(variables) if variables else None,
        },
    }


def _park(request: SendSmsRequest, message: dict[str, Any]) -> None:
    """A ``.waitForTaskToken`` send: the execution resumes on delivery or on the reply."""
    if request.task_token is None:
        return
    sid = message["sid"]
    subject = request.recipients[0] if request.wait_for == task_tokens.REPLY else sid
    try:
        task_tokens.park(request.wait_for, subject, request.task_token, {"messageSid": sid})
    except Exception as exc:
        raise SERVICE_UNAVAILABLE(
            "The message was sent but its task token could not be kept; the execution would "
            "wait in vain"
        ) from exc


def _send_all(
    sender: Sender, recipients: list[str], limit: int | None = None
) -> list[dict[str, Any] | ConnectorError]:
    """Every recipient's message or error, in input order; up to ``SEND_CONCURRENCY`` at once
    (or the request's ``sendConcurrency``, when lower: a workflow sharing Twilio's concurrency
    among calls in flight together). Each worker runs in a copy of this context, so the
    invocation's deadline bounds it too. Through the ledger, recipients are claimed and their
    outcomes written in batches (:meth:`Sender.attempt_many`)."""
    workers = min(get_settings().send_concurrency, limit or len(recipients), len(recipients))
    if sender.ledger is not None:
        return sender.attempt_many(recipients, workers)
    if workers <= 1:
        return [sender.attempt(to) for to in recipients]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="send") as pool:
        # the context is copied here, in the invocation's thread, once per recipient
        futures = [
            pool.submit(contextvars.copy_context().run, sender.attempt, to) for to in recipients
        ]
        return [future.result() for future in futures]


#: Fields kept per message when the full resources would not fit in a Step Functions state.
COMPACT_FIELDS = (
    "sid", "to", "from", "status", "date_created", "error_code", "segments", "encoding",
)  # fmt: skip


def _fitted(result: dict[str, Any]) -> dict[str, Any]:
    """The result, with ``messages`` reduced to their key fields (and ``messagesCompacted``)
    when the full resources would pass ``MAX_RESULT_BYTES`` (256 KiB: a state's payload)."""
    limit = get_settings().max_result_bytes
    # json.dumps(result)'s length, message by message: no string of the whole result (10,000
    # messages are about 9 MB of JSON), and no more of it than the limit
    size = len(json.dumps({**result, "messages": []})) + 2 * max(len(result["messages"]) - 1, 0)
    for message in result["messages"]:
        size += len(json.dumps(message))
        if size > limit:
            break
    else:
        return result
    compact = [{k: m.get(k) for k in COMPACT_FIELDS} for m in result["messages"]]
    return {**result, "messages": compact, "messagesCompacted": True}


def _request_key(request: SendSmsRequest) -> str:
    """The caller's ``idempotencyKey``, or a hash of the request as given."""
    return request_key(request.idempotency_key, _as_given(request, request.recipients))


def _fingerprint(request: SendSmsRequest) -> str:
    """What makes two requests under one ``idempotencyKey`` the same request: the request as
    given (recipients in any order, template, metadata, sender, media, schedule), not its
    rendering, which a template using ``.now`` changes at every attempt."""
    return digest(_as_given(request, sorted(request.recipients)))


def _as_given(request: SendSmsRequest, recipients: list[str]) -> dict[str, Any]:
    return {
        "recipients": recipients,
        "template": request.body_template,
        "metadata": request.variables,
        "sender": request.sender,
        "service": request.messaging_service_sid,
        "media": list(request.media_urls),
        "statusCallback": request.status_callback,
        "sendAt": request.send_at.isoformat() if request.send_at else None,
        "validityPeriod": request.validity_period,
        # only when given: the keys of requests without them stay as they were
        **({"contentSid": request.content_sid} if request.content_sid else {}),
        **({"contentVariables": request.content_variables} if request.content_variables else {}),
        **({"smartEncoding": True} if request.smart_encoding else {}),
    }


def _uses_now(request: SendSmsRequest) -> bool:
    """Whether the body (or a Content template's variable) may show ``.now`` (FreeMarker's
    current time)."""
    if request.body_template is not None and ".now" in request.body_template:
        return True
    return any(".now" in value for value in (request.content_variables or {}).values())


def _depends_on_time(request: SendSmsRequest) -> bool:
    return request.send_at is not None or _uses_now(request)


def now() -> datetime:
    return datetime.now(UTC)


def _check_schedule(request: SendSmsRequest) -> None:
    """``sendAt`` within Twilio's scheduling window, for a request's first attempt."""
    if request.send_at is None:
        return
    moment = now()
    if not moment + SCHEDULE_MIN <= request.send_at <= moment + SCHEDULE_MAX:
        raise INVALID_INPUT(
            "sendAt"
            + (" with its sendAtOffset" if request.send_at_offset else "")
            + " must be 15 minutes to 35 days ahead (Twilio's scheduling window)",
            field="sendAt",
        )


def _compared(params: dict[str, Any]) -> list[Any]:
    """What reconciliation compares between this request and a message Twilio has."""
    # a Content template's SID and variables only when given: other requests' digests unchanged
    template = [params[k] for k in ("content_sid", "content_variables") if k in params]
    if params.get("from_"):
        return ["from", params["from_"], params.get("body") or "", *template]
    return ["service", params.get("messaging_service_sid"), params.get("body") or "", *template]


#: How long after its answer was due Twilio may still store a message whose request it got
#: (a slow commit): an attempt with an unknown outcome is not taken for absent before.
COMMIT_MARGIN = 5.0


def _unknown_hold() -> float:
    """How long after its claim an attempt with an unknown outcome may still take effect: its
    Twilio call's connect and read timeouts and the commit margin (``SEND_LEASE_SECONDS``, when
    set, stands for all of it, as it does for the lease)."""
    settings = get_settings()
    if settings.send_lease_seconds is not None:
        return settings.send_lease_seconds
    return settings.connect_timeout + settings.read_timeout + COMMIT_MARGIN


#: Batches of claims taken ahead of the sends, concurrently.
CLAIMS_AHEAD = 2
#: How far back (seconds) reconciliation looks before a lost attempt, for clock differences.
CLOCK_SKEW = 60
#: Pages of the recipient's messages reconciliation reads at most.
RECONCILE_PAGES = 5


class Sender:
    """Sends one request's message to its recipients through the ledger."""

    def __init__(
        self, client: Any, params: dict[str, Any], ledger: SendLedger | None, key: str
    ) -> None:
        self.client, self.params, self.ledger, self.key = client, params, ledger, key
        #: recipients whose message an earlier attempt of this request had sent
        self.replayed: set[str] = set()
        #: outcomes waiting for a batch write (``attempt_many``); None: each written at once
        self.outcomes: list[tuple[Claim, str, dict[str, Any] | None]] | None = None
        self._lock = threading.Lock()

    def _create(self, to: str) -> dict[str, Any]:
        """The created message as Twilio answered it. twilio's ``MessageList.create`` is its
        ``_create`` (parameters mapped, errors raised as ``TwilioRestException``) wrapped in a
        ``MessageInstance`` that parses the dates, which ``to_resource`` would format back: a
        tenth of a bulk send's CPU (make bench). The answer is taken as it came."""
        messages = self.client.messages
        payload, _, _ = call_twilio(
            lambda: messages._create(to=to, **self.params), changes_state=True, reconciled=True
        )
        return payload

    def attempt(self, to: str, claim: Claim | None = None) -> dict[str, Any] | ConnectorError:
        """:meth:`send`, its error returned rather than raised."""
        try:
            return self.send(to, claim)
        except ConnectorError as error:
            return error

    def attempt_many(
        self, recipients: list[str], workers: int
    ) -> list[dict[str, Any] | ConnectorError]:
        """Every recipient's outcome through the ledger, ``workers`` at once. Claims are taken a
        batch at a time by ``CLAIMS_AHEAD`` threads, ahead of the sends but never more than
        about two batches ahead of the outcomes (a claim's lease runs from its claim); this
        thread hands the claimed recipients to ``workers`` sender threads through a queue, and
        one writer thread writes the outcomes in batches as they come. A sender wakes this
        thread only when there is room for the next batch, not at every outcome, and takes its
        next recipient without a future: per recipient, an executor's future and wake-ups cost
        a tenth of a bulk send's CPU (make bench)."""
        assert self.ledger is not None
        outcomes: list[dict[str, Any] | ConnectorError | None] = [None] * len(recipients)
        self.outcomes = []
        ahead = max(2 * workers, CLAIM_BATCH)
        sending = threading.Condition()
        running = 0  # recipients handed to the senders, not yet settled
        room = 0  # this thread waits until ``running`` is down to this
        jobs: SimpleQueue[tuple[int, str, Claim | None] | None] = SimpleQueue()
        crashes: list[BaseException] = []
        writes: list[Future[None]] = []

        def sender() -> None:
            nonlocal running
            while (job := jobs.get()) is not None:
                index, to, claim = job
                try:
                    outcomes[index] = self.attempt(to, claim)
                    if ready := self._whole_batches(RECORD_BATCH):
                        work = contextvars.copy_context().run
                        writes.append(writer.submit(work, self._write, ready))
                except BaseException as crash:  # a bug: the invocation's, once all are settled
                    crashes.append(crash)
                finally:
                    with sending:
                        running -= 1
                        if running <= room:
                            sending.notify()

        def wait_for(most: int) -> None:
            nonlocal room
            with sending:
                room = most
                while running > most:
                    sending.wait()

        senders = [
            # each in a copy of this context: the invocation's deadline bounds its sends
            threading.Thread(target=contextvars.copy_context().run, args=(sender,), name="send")
            for _ in range(workers)
        ]
        with (
            ThreadPoolExecutor(max_workers=CLAIMS_AHEAD, thread_name_prefix="claim") as claimer,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger") as writer,
        ):
            for thread in senders:
                thread.start()
            try:
                # the next batches' claims are taken while this one is sent (two claim
                # threads: a transaction takes about as long as its batch's sends)
                batches = [
                    (start, recipients[start : start + CLAIM_BATCH])
                    for start in range(0, len(recipients), CLAIM_BATCH)
                ]
                claiming = deque(
                    (
                        start,
                        batch,
                        claimer.submit(contextvars.copy_context().run, self._claim, batch),
                    )
                    for start, batch in batches[:CLAIMS_AHEAD]
                )
                for start, batch in batches[CLAIMS_AHEAD:] + [(-1, [])] * CLAIMS_AHEAD:
                    first, claimed, claims_future = claiming.popleft()
                    wait_for(max(ahead - len(claimed), 0))
                    claims = claims_future.result()
                    if batch:
                        work = contextvars.copy_context().run
                        claiming.append((start, batch, claimer.submit(work, self._claim, batch)))
                    if isinstance(claims, ConnectorError):
                        for index in range(first, first + len(claimed)):
                            outcomes[index] = claims
                    else:
                        with sending:
                            running += len(claimed)
                        for index, to in enumerate(claimed, first):
                            jobs.put((index, to, claims.get(to)))
                    if not claiming:
                        break
                wait_for(0)
            finally:
                for _ in senders:
                    jobs.put(None)
                for thread in senders:
                    thread.join()
        if crashes:
            raise crashes[0]
        for write in writes:
            write.result()  # (a crash in the writer is the invocation's)
        self._write(self._whole_batches(1))
        self.outcomes = None
        return [outcome for outcome in outcomes if outcome is not None]

    def _claim(self, batch: list[str]) -> dict[str, Claim] | ConnectorError:
        """Fresh claims of ``batch`` (those left out are claimed one by one), or why none."""
        assert self.ledger is not None
        try:
            if time_left() < MIN_CALL_SECONDS:
                raise GATEWAY_TIMEOUT("The function's time ran out before this recipient's turn")
            return self.ledger.claim_many(self.key, batch, self._lease())
        except ConnectorError as error:
            return error

    def _whole_batches(self, size: int) -> list[tuple[Claim, str, dict[str, Any] | None]]:
        """The waiting outcomes that fill whole batches of ``size``, taken from the queue."""
        assert self.outcomes is not None
        with self._lock:
            whole = len(self.outcomes) - len(self.outcomes) % size
            ready, self.outcomes[:whole] = self.outcomes[:whole], []
        return ready

    def _write(self, outcomes: list[tuple[Claim, str, dict[str, Any] | None]]) -> None:
        assert self.ledger is not None
        if not outcomes:
            return
        try:
            self.ledger.record_many(outcomes)
        except ConnectorError as error:
            # the sends themselves are settled; a retry reconciles these recipients with Twilio
            logger.error("Send outcome not recorded", extra={"code": error.code})

    def send(self, to: str, claim: Claim | None = None) -> dict[str, Any]:
        """Send to ``to`` (``claim``: taken for it already by :meth:`SendLedger.claim_many`)."""
        if time_left() < MIN_CALL_SECONDS:
            if claim is not None:  # nothing was sent: a retry sends it
                self._record(claim, "failed")
            raise GATEWAY_TIMEOUT("The function's time ran out before this recipient's turn")
        if self.ledger is None:
            try:
                return self._create(to)
            except OutcomeUnknown as unknown:
                raise unknown.error from None
        claim = claim or self.ledger.claim(self.key, to, self._lease())
        if claim.decision is Decision.ADOPT:
            assert claim.resource is not None
            self.replayed.add(to)
            return claim.resource
        if claim.decision is Decision.BUSY:
            raise CONFLICT(
                "Another invocation is sending this message to this recipient, or an earlier "
                "attempt's outcome is not known yet (Twilio may still be storing it); retry"
            )
        if claim.decision is Decision.RECONCILE:
            try:
                found = self.find_sent(claim, claim.previous_attempt_at or 0)
            except ConnectorError:
                self._record(claim, "unknown")  # still unknown: the next attempt asks again
                raise
            if found is not None:
                logger.info(
                    "Adopted a message a lost attempt had sent", extra={"sid": found["sid"]}
                )
                self._record(claim, "sent", found)
                self.replayed.add(to)
                return found
        try:
            resource = self._create(to)
        except OutcomeUnknown as unknown:
            try:  # one quick look; a retry of the whole request looks again, later
                found = self.find_sent(claim, time.time() - CLOCK_SKEW, attempts=1)
            except ConnectorError:  # no time, no answer, or no certainty: the next attempt asks
                found = None
            if found is not None:
                self._record(claim, "sent", found)
                return found
            self._record(claim, "unknown")  # the next attempt asks Twilio again before sending
            raise unknown.error from None
        except ConnectorError:
            self._record(claim, "failed")
            raise
        self._record(claim, "sent", resource)
        return resource

    def _lease(self) -> float:
        settings = get_settings()
        if settings.send_lease_seconds is not None:
            return settings.send_lease_seconds
        return min(time_left(), 3 * (settings.connect_timeout + settings.read_timeout))

    def _record(self, claim: Claim, status: str, resource: dict[str, Any] | None = None) -> None:
        assert self.ledger is not None
        if self.outcomes is not None:
            with self._lock:  # written in batches by attempt_many
                self.outcomes.append((claim, status, resource))
                return
        try:
            self.ledger.record(claim, status, resource)
        except ConnectorError as error:
            # the send itself is settled; a retry reconciles this recipient with Twilio
            logger.error("Send outcome not recorded", extra={"code": error.code})

    def find_sent(self, claim: Claim, since: float, attempts: int = 0) -> dict[str, Any] | None:
        """The message this claim's request sent to its recipient at or after ``since`` (epoch
        seconds), if Twilio has it and it is provably this request's: a message another request
        sent or adopted is never taken, and while another request's attempt to the same
        recipient with the same text is unsettled, an unowned message could be either's:
        ``SEND_OUTCOME_AMBIGUOUS`` rather than a guess."""
        assert self.ledger is not None
        candidates = self._candidates(claim.recipient, since - CLOCK_SKEW, attempts)
        if not candidates:
            return None
        # read after Twilio's list: an attempt whose message is listed was listed before it
        unsettled, owned = self.ledger.others(claim, since - 2 * CLOCK_SKEW)
        unowned = [resource for resource in candidates if resource["sid"] not in owned]
        if not unowned:
            return None
        if unsettled and all(lost for _, lost in unsettled) and len(unowned) > len(unsettled):
            # every other unsettled attempt was lost too, and there are more unowned messages
            # than they could have sent: this request's is among them. Each of the lost
            # attempts takes the one at its rank (by record key), oldest first: the same pick
            # whichever of them settles first, never the same message for two
            ranks = sorted([claim.key, *(key for key, _ in unsettled)])
            oldest_first = sorted(
                unowned,
                key=lambda r: (parsedate_to_datetime(r["date_created"]).timestamp(), r["sid"]),
            )
            return oldest_first[ranks.index(claim.key)]
        if unsettled:
            raise SEND_OUTCOME_AMBIGUOUS(
                f"A message with this text to {mask_phone(claim.recipient)} exists, but "
                f"{len(unsettled)} other request(s) sending the same text to this recipient have "
                "not settled: it cannot be told whose it is. Retry: once they settle it is "
                'decided; if this persists, see docs/workflows.md, "What reconciliation adopts" '
                "(a possible duplicate against a possible loss)",
                candidates=len(unowned),
            )
        return unowned[-1]  # the oldest: the nearest to this request's attempt

    def _candidates(self, to: str, since: float, attempts: int) -> list[dict[str, Any]]:
        """The recipient's messages created at or after ``since`` with this request's sender and
        text, newest first: the recipient's newest messages, read until they are older."""
        api = self.client.api.v2010.account.messages
        filters: dict[str, Any] = {"to": to, "page_size": 50}
        if self.params.get("from_"):
            filters["from_"] = self.params["from_"]
        found: list[dict[str, Any]] = []
        page = call_twilio(lambda: api.page(**filters), changes_state=False, attempts=attempts)
        for _ in range(RECONCILE_PAGES):
            for resource in map(to_resource, page):
                created = parsedate_to_datetime(resource["date_created"]).timestamp()
                if created < since:
                    return found
                if self._same_message(resource):
                    found.append(resource)
            if not page.next_page_url:
                return found
            next_url = page.next_page_url
            page = call_twilio(
                lambda url=next_url: api.get_page(url), changes_state=False, attempts=attempts
            )
        return found

    def _same_message(self, resource: dict[str, Any]) -> bool:
        params = self.params
        return (
            resource.get("direction") == "outbound-api"
            # a Content template's text is Twilio's: its body cannot be compared
            and (
                "content_sid" in params
                or (resource.get("body") or "") == (params.get("body") or "")
            )
            and (
                resource.get("from") == params.get("from_")
                if params.get("from_")
                else resource.get("messaging_service_sid") == params.get("messaging_service_sid")
            )
        )


def _create_params(
    request: SendSmsRequest,
    credentials: Credentials,
    body: str | None,
    content_variables: str | None = None,
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
        params["from_"] = validate_sender(sender, "TWILIO_FROM", request.region)
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
    if request.content_sid is not None:
        params["content_sid"] = request.content_sid
        if content_variables is not None:
            params["content_variables"] = content_variables
    if request.smart_encoding:
        params["smart_encoded"] = True
    return params


def _partial_failure(
    result: dict[str, Any],
    sent: list[tuple[int, str, dict[str, Any]]],
    failed: list[_RecipientFailed],
    total: int,
) -> ConnectorError:
    """The error raised when some recipients failed: the code of the first failure, and the
    outcomes of the recipients (numbers masked: this message is logged by the Lambda runtime;
    at most ``MAX_LISTED`` of each kind, with the counts)."""
    first = failed[0].error
    several = total > 1
    error = CATALOGUE[first.code](
        f"{len(failed)} of {total} recipient(s) failed: {first.message}"
        if several
        else first.message,
        **{k: v for k, v in first.details.items() if k in ("twilioCode", "status", "moreInfo")},
        sentCount=len(sent) if several else None,
        failedCount=len(failed) if several else None,
        sent=[
            {"index": index, "to": mask_phone(to), "sid": resource.get("sid")}
            for index, to, resource in sent[:MAX_LISTED]
        ]
        or None,
        failed=[
            {"index": f.index, "to": mask_phone(f.to), **f.error.to_dict()}
            for f in failed[:MAX_LISTED]
        ]
        if several
        else None,
        listsTruncated=True if max(len(sent), len(failed)) > MAX_LISTED else None,
    )
    error.partial_result = result
    error.errors = [{"index": f.index, "to": f.to, **f.error.to_dict()} for f in failed]
    return error
