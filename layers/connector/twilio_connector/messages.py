"""GET_SMS, CANCEL_SMS and LIST_SMS: message resources, the cancellation of a scheduled one, and
a list walk that fits a Step Functions state.

LIST_SMS returns at most ``pageSize`` messages per call and never more JSON than
``LIST_MAX_RESULT_BYTES`` (256 KiB, Step Functions' payload limit). When the budget ends a page
early, ``nextPageToken`` resumes at the next message: it records Twilio's page URI, how many of
that page's messages were returned and the SID of the last one (so a first page that shifted
because new messages arrived is still resumed after the right message).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from twilio_connector import inputs
from twilio_connector.config import get_settings
from twilio_connector.credentials import get_credentials
from twilio_connector.errors import (
    CONFLICT,
    INVALID_FROM_PHONE_NUMBER_ERROR,
    INVALID_INPUT,
    SERVICE_UNAVAILABLE,
    ConnectorError,
)
from twilio_connector.observability import logger, metrics
from twilio_connector.phone import (
    REGION_FIELD,
    number_hint,
    phone_region,
    to_address,
    validate_sender,
)
from twilio_connector.twilio_api import call_twilio, get_client, to_resource, twilio_errors

MESSAGE_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
DEFAULT_PAGE_SIZE = 50
#: Room kept in the budget for the ``nextPageToken`` string itself.
TOKEN_RESERVE = 2048


#: GET_SMS's and CANCEL_SMS's input fields.
MESSAGE_SID_FIELDS = inputs.fields(aliases=(("sid", "messageSid"),))
#: LIST_SMS's input fields (Twilio's list has no status filter: ``status`` is an ignored field).
LIST_SMS_FIELDS = inputs.fields(
    "to", "from", "dateSent", "dateSentAfter", "dateSentBefore", "pageSize", "limit",
    REGION_FIELD,
    aliases=(("pageToken", "nextPageToken"),),
)  # fmt: skip


# --- GET_SMS -------------------------------------------------------------------------------------
def parse_message_sid(event: object) -> str:
    event = inputs.as_event(event)
    sid = inputs.text(event, "sid", "messageSid", required=True, limit=64)
    if sid is None or not MESSAGE_SID.match(sid):
        raise INVALID_INPUT("sid must be a message SID: SM or MM + 32 hex digits", field="sid")
    return sid


def get_message(sid: str) -> dict[str, Any]:
    client = get_client()
    with twilio_errors():
        return to_resource(client.messages(sid).fetch())


# --- CANCEL_SMS ----------------------------------------------------------------------------------
#: Twilio's "This message cannot be canceled": it is no longer (or never was) ``scheduled``.
NOT_CANCELABLE = 30409


def cancel_message(sid: str) -> dict[str, Any]:
    """Cancel a message scheduled with ``sendAt`` as Twilio does (update ``Status=canceled``) and
    return it. A message already canceled is returned as it is, so a retried or repeated cancel
    succeeds; one that is no longer scheduled (queued, sent, delivered, ...) is ``CONFLICT``
    with its ``messageStatus``; an unknown SID is ``NOT_FOUND``."""
    message = get_client().messages(sid)
    try:
        # safe to retry when the answer is lost: a repeat finds the message canceled
        resource = to_resource(
            call_twilio(lambda: message.update(status="canceled"), changes_state=False)
        )
    except ConnectorError as error:
        if error.details.get("twilioCode") != NOT_CANCELABLE:
            raise
        resource = to_resource(call_twilio(message.fetch, changes_state=False))
        if resource.get("status") != "canceled":
            raise CONFLICT(
                f"The message is {resource.get('status')}, not scheduled: it can no longer be "
                "canceled",
                **{k: v for k, v in error.details.items() if k != "field"},
                messageStatus=resource.get("status"),
            ) from None
        logger.info("SMS was already canceled", extra={"sid": sid})
        _end_delivery_wait(resource)
        return resource
    metrics.add_metric(name="SmsCanceled", unit=MetricUnit.Count, value=1)
    logger.info("SMS canceled", extra={"sid": sid})
    _end_delivery_wait(resource)
    return resource


def _end_delivery_wait(resource: dict[str, Any]) -> None:
    """A send-and-wait waiting on the canceled message fails at once with ``CANCELED`` (it
    would otherwise wait for a delivery that never comes). A repeated cancel tells it again."""
    from twilio_connector import task_tokens

    try:
        task_tokens.on_status(
            {
                "messageSid": resource["sid"],
                "status": "canceled",
                "errorCode": None,
                "to": resource.get("to"),
                "from": resource.get("from"),
            }
        )
    except ConnectorError:
        raise
    except Exception as exc:
        raise SERVICE_UNAVAILABLE(
            "The message was canceled, but the execution waiting on it could not be told; "
            "retry (a repeated cancel tells it)"
        ) from exc


# --- LIST_SMS ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cursor:
    """Where a list walk stands; ``nextPageToken`` is this, as URL-safe base64 JSON."""

    filters: dict[str, str] = field(default_factory=dict)
    page_size: int = DEFAULT_PAGE_SIZE
    remaining: int | None = None  # what is left of ``limit``; None: no limit
    uri: str | None = None  # Twilio's page URI; None: the first page
    skip: int = 0  # messages of that page already returned
    last_sid: str | None = None  # the last of them

    def encode(self) -> str:
        data = json.dumps(asdict(self), separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, account_sid: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            cursor = cls(**json.loads(raw))
        except (binascii.Error, ValueError, TypeError):
            raise INVALID_INPUT(
                "pageToken is not a token LIST_SMS gave", field="pageToken"
            ) from None
        prefix = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
        if (
            (cursor.uri is not None and not cursor.uri.startswith(prefix))
            or not 1 <= cursor.page_size <= 1000
            or cursor.skip < 0
            or not isinstance(cursor.filters, dict)
        ):
            raise _bad_token()
        return cursor


def _bad_token() -> INVALID_INPUT:
    return INVALID_INPUT("pageToken is not a token LIST_SMS gave", field="pageToken")


def parse_list_request(event: object) -> tuple[Cursor, str | None]:
    """The walk to start (filters, page size, limit) and the token to resume from, if any."""
    event = inputs.as_event(event)
    token = inputs.text(event, "pageToken", "nextPageToken", limit=8192)
    filters: dict[str, str] = {}
    region = phone_region(event, get_settings().default_phone_region)
    to = inputs.text(event, "to", limit=64)
    if to is not None:
        address = to_address(to, region)
        if address is None:
            raise INVALID_INPUT(
                f"to must be a phone number or whatsapp: address. {number_hint(to)}", field="to"
            )
        filters["to"] = address
    sender = inputs.text(event, "from", limit=64)
    if sender is not None:
        try:
            filters["from_"] = validate_sender(sender, "from", region)
        except INVALID_FROM_PHONE_NUMBER_ERROR:
            raise INVALID_INPUT(
                f"from must be a number or sender ID. {number_hint(sender)}", field="from"
            ) from None
    on = _date_or_time(event, "dateSent", date_only=True)
    after = _date_or_time(event, "dateSentAfter")
    before = _date_or_time(event, "dateSentBefore")
    if after and before and _as_datetime(after) > _as_datetime(before):
        raise INVALID_INPUT("dateSentAfter is later than dateSentBefore", field="dateSentAfter")
    for name, value in (
        ("date_sent", on),
        ("date_sent_after", after),
        ("date_sent_before", before),
    ):
        if value is not None:
            filters[name] = value
    page_size = inputs.integer(event, "pageSize", 1, 1000) or DEFAULT_PAGE_SIZE
    limit = inputs.integer(event, "limit", 1, 10**9)
    return Cursor(filters=filters, page_size=page_size, remaining=limit), token


def _date_or_time(event: dict[str, Any], name: str, date_only: bool = False) -> str | None:
    """An ISO 8601 date (``2026-03-01``) or, unless ``date_only``, date-time; as Twilio takes it."""
    value = inputs.text(event, name, limit=64)
    if value is None:
        return None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return date.fromisoformat(value).isoformat()
        if date_only:
            raise ValueError(value)
    except ValueError:
        raise INVALID_INPUT(f"{name} must be an ISO 8601 date (YYYY-MM-DD)", field=name) from None
    moment = inputs.timestamp(event, name)
    assert moment is not None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _as_datetime(value: str) -> datetime:
    return datetime.fromisoformat(
        value.replace("Z", "+00:00") if "T" in value else value + "T00:00"
    )


def list_messages(start: Cursor, token: str | None) -> dict[str, Any]:
    """One call of the walk: ``{"messages": [...], "nextPageToken": str | None}``."""
    credentials = get_credentials()
    cursor = Cursor.decode(token, credentials.account_sid) if token else start
    client = get_client(credentials)
    budget = get_settings().list_max_result_bytes - TOKEN_RESERVE
    messages_api = client.api.v2010.account.messages
    base_url = client.api.base_url.rstrip("/")

    def fetch(uri: str | None) -> tuple[list[dict[str, Any]], str | None]:
        with twilio_errors():
            page = (
                messages_api.page(page_size=cursor.page_size, **cursor.filters)
                if uri is None
                else messages_api.get_page(base_url + uri)
            )
            records = [to_resource(instance) for instance in page]
        next_url = page.next_page_url
        return records, next_url[len(base_url) :] if next_url else None

    uri = cursor.uri
    records, next_uri = fetch(uri)
    index = _resume_index(records, cursor)
    if index is None and next_uri is not None:  # new messages pushed it onto the next page
        later, later_next = fetch(next_uri)
        found = _resume_index(later, replace(cursor, skip=0))
        if found is not None:
            uri, records, next_uri, index = next_uri, later, later_next, found
    if index is None:  # the last message returned is gone (deleted): resume by position
        index = min(cursor.skip, len(records))
    out: list[dict[str, Any]] = []
    size = len(json.dumps({"messages": [], "nextPageToken": None}))
    remaining = cursor.remaining
    while len(out) < cursor.page_size and remaining != 0:
        if index >= len(records):
            if next_uri is None:
                return {"messages": out, "nextPageToken": None}
            uri, index = next_uri, 0
            records, next_uri = fetch(uri)
            continue
        item_size = len(json.dumps(records[index])) + 2  # ", " between items
        if size + item_size > budget and out:
            break
        out.append(records[index])
        size += item_size
        index += 1
        remaining = None if remaining is None else remaining - 1
    if remaining == 0:
        return {"messages": out, "nextPageToken": None}
    if index >= len(records):  # this page is done: resume on the next one
        if next_uri is None:
            return {"messages": out, "nextPageToken": None}
        uri, index = next_uri, 0
    resume = replace(
        cursor,
        remaining=remaining,
        uri=uri,
        skip=index,
        last_sid=records[index - 1]["sid"] if index > 0 else None,
    )
    return {"messages": out, "nextPageToken": resume.encode()}


def _resume_index(records: list[dict[str, Any]], cursor: Cursor) -> int | None:
    """Where to resume in a re-fetched page: after ``last_sid`` wherever it now stands
    (None: it is not on this page)."""
    if cursor.last_sid is None:
        return min(cursor.skip, len(records))
    if 0 < cursor.skip <= len(records) and records[cursor.skip - 1]["sid"] == cursor.last_sid:
        return cursor.skip
    for position, record in enumerate(records):
        if record["sid"] == cursor.last_sid:
            return position + 1
    return None
