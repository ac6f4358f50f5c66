"""A Twilio REST API emulator for offline runs and tests (not product code).

It answers like Twilio's documented API: the 2010-04-01 Messages resource (create, fetch, list
with filters and ``next_page_uri`` paging, scheduling with ``SendAt`` and cancelling with
``Status=canceled``), HTTP Basic auth (20003 on a wrong token), Twilio's
error JSON, and the magic test numbers of Twilio's test credentials
(https://www.twilio.com/docs/iam/test-credentials). Content templates (``ContentSid``,
``ContentVariables``) are the emulator's ``contents``: an unknown SID is 21655. A ``whatsapp:``
free-form message (a Body, no ContentSid) to someone who has not written in the last 24 hours is
accepted (201), then fails with 63016 (its status callback and status), as Twilio does; a Content
template is delivered. Switches inject faults: latency, a
concurrency cap answering 429 / 20429, 5xx answers and dropped connections.

Scheduled messages (https://www.twilio.com/docs/messaging/features/message-scheduling) are held
with status ``scheduled`` and released (``queued``, then the status callbacks) when the emulator's
clock reaches their ``SendAt``. The clock is real time, run ``clock_speed`` times faster
(``TwilioEmulator(clock_speed=100)``, ``POST /__emulator/clock {"speed": 100}``; 0 stops it), plus
an offset that ``advance()`` (or ``POST /__emulator/clock {"advance_seconds": n}``) moves forward,
so a test can reach tomorrow; scheduling, the queues, callbacks and the WhatsApp window run on it.
``ValidityPeriod`` is checked as Twilio does (1 to 36,000, else 400 / 21624).

Per-sender throughput and queues are opt-in (:mod:`local.twilio_emulator.queues`;
``TwilioEmulator(throughput=True)`` or ``POST /__emulator/senders {"enabled": true, "senders":
{"+1...": {"mps": 10}}}``): off, a message stays ``queued`` unless it has a ``StatusCallback`` (then
"sent" and its final status follow at once), as before; on, each message waits for its sender's
segments-per-second rate, moves queued -> sent -> delivered at its simulated send time, and a full
10-hour queue or an expired ``ValidityPeriod`` answers 21611 / 30001 / 30036 as Twilio does.
``GET /__emulator/summary`` is the tally a simulation reads (counts by outcome, the longest wait,
how many messages each number got).

Verify v2 and Lookup v2 (``/v2/...``, Twilio's verify and lookups hosts) are modelled in
:mod:`local.twilio_emulator.verify_lookup` (``emulator.verify_lookup``).

Use it in-process (``with TwilioEmulator() as emulator: ...``) or as a process
(``python -m local.twilio_emulator --port 8080``); a process is driven through ``/__emulator``.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import json
import queue
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from local.twilio_emulator.queues import ERROR_MESSAGES, MAX_VALIDITY, QueuedSending, Throughput

API = "/2010-04-01"
TEST_ACCOUNT_SID = "AC" + "0" * 30 + "01"
TEST_AUTH_TOKEN = "f" * 28 + "cafe"  # the emulator's own made-up token
#: Twilio's magic From number that passes every check.
MAGIC_FROM = "+15005550006"
#: Magic 'To' numbers -> (HTTP status, Twilio code, message template).
MAGIC_TO = {
    "+15005550001": (400, 21211, "The 'To' number {to} is not a valid phone number."),
    "+15005550002": (
        400,
        21612,
        "The 'To' phone number: {to}, is not currently reachable using the 'From' phone "
        "number: {from_} via SMS.",
    ),
    "+15005550003": (
        400,
        21408,
        "Permission to send an SMS has not been enabled for the region indicated by the "
        "'To' number: {to}.",
    ),
    "+15005550004": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (400, 21614, "'To' number {to} is not a valid mobile number"),
}
MAGIC_INVALID_FROM = "+15005550001"
#: Magic 'To' numbers for calls.
MAGIC_CALL_TO = {
    "+15005550001": (400, 21217, "Phone number {to} does not appear to be valid"),
    "+15005550002": (400, 21214, "'To' phone number {to} cannot be reached"),
    "+15005550003": (
        400,
        21215,
        "Account not authorized to call {to}. Perhaps you need to enable some international "
        "permissions",
    ),
    "+15005550004": (400, 21216, "Account not allowed to call {to}"),
}
_E164 = re.compile(r"^(whatsapp:)?\+[1-9]\d{1,14}$")
_ALPHANUMERIC = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
#: Twilio's scheduling window: SendAt 15 minutes to 35 days after the request (error 35114).
SCHEDULE_MIN = timedelta(minutes=15)
SCHEDULE_MAX = timedelta(days=35)
#: A Content template the emulator knows (``emulator.contents`` starts with it).
DEMO_CONTENT_SID = "HX" + "0" * 28 + "0001"
#: WhatsApp's customer-service window: free-form messages only this long after the user wrote.
WHATSAPP_WINDOW = timedelta(hours=24)
WHATSAPP_63016 = ERROR_MESSAGES[63016]
_CONTENT_VARIABLE = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€\f"
)
_GSM7_EXTENSION = set("\f^{}\\[~]|€")  # two septets each (an escape, then the character)


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # a bulk send opens many connections at once
    daemon_threads = True


class TwilioApiError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


@dataclass
class Faults:
    """Fault-injection switches (all off by default)."""

    latency: float = 0.0  # seconds added to every API request
    max_concurrency: int = 0  # over this many requests at once: 429 / 20429 (0: no cap)
    fail_statuses: list[int] = field(default_factory=list)  # answer the next requests so (5xx)
    drop_next: int = 0  # close the next N connections without an answer
    fail_errors: list[dict] = field(default_factory=list)  # next answers: {status, code, message}
    drop_after_store: int = 0  # the next N creates are stored, then the connection is dropped
    fail_after_store: list[int] = field(default_factory=list)  # next creates stored, then 5xx
    slow_commit: int = 0  # the next N creates are stored only after commit_seconds, then answered
    commit_seconds: float = 1.0
    hang_after_store: int = 0  # the next N creates are stored, then answered after hang_seconds
    hang_seconds: float = 5.0


@dataclass
class CallbackReport:
    """The status callbacks a drain waited for (each one POST: "sent", then the final status)
    and what became of them."""

    expected: int = 0  # queued since the last drain
    arrived: int = 0  # answered 2xx by the webhook
    refused: int = 0  # answered, but not 2xx
    unreachable: int = 0  # the connection failed
    #: The drain stopped waiting (no callback went out for its ``timeout``) before the last one.
    gave_up: bool = False

    @property
    def outstanding(self) -> int:
        return max(0, self.expected - self.arrived - self.refused - self.unreachable)

    def summary(self) -> str:
        text = f"waited for {self.expected} status callback(s): {self.arrived} arrived"
        if self.refused:
            text += f", {self.refused} refused (not 2xx)"
        if self.unreachable:
            text += f", {self.unreachable} unreachable"
        if self.outstanding:
            text += f", {self.outstanding} still outstanding when the wait stopped"
        return text


def segments(body: str) -> int:
    """Message segments as Twilio counts them: GSM-7 160 septets alone or 153 a part (an
    extension character two), else UCS-2 70 code units alone or 67 a part; a character is
    never split between two parts."""
    if not body:
        return 1
    if all(ch in _GSM7 for ch in body):
        sizes, alone, part = [2 if ch in _GSM7_EXTENSION else 1 for ch in body], 160, 153
    else:
        sizes, alone, part = [len(ch.encode("utf-16-le")) // 2 for ch in body], 70, 67
    if sum(sizes) <= alone:
        return 1
    count, used = 1, 0
    for size in sizes:
        if used + size > part:
            count, used = count + 1, 0
        used += size
    return count


def rfc2822(moment: datetime | None) -> str | None:
    return format_datetime(moment) if moment else None


class TwilioEmulator(QueuedSending):
    """The emulator's state and its HTTP server on 127.0.0.1."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        accounts: dict[str, str] | None = None,
        api_keys: dict[str, tuple[str, str]] | None = None,
        numbers: set[str] | None = None,
        throughput: bool = False,
        senders: dict[str, dict] | None = None,
        clock_speed: float = 1.0,
    ) -> None:
        self.accounts = accounts or {TEST_ACCOUNT_SID: TEST_AUTH_TOKEN}
        self.api_keys = api_keys or {}  # key SID -> (secret, account SID)
        self.numbers = numbers or {MAGIC_FROM}  # the account's own numbers (valid 'From')
        self.faults = Faults()
        self.messages: dict[str, dict[str, Any]] = {}  # sid -> resource, in creation order
        self.calls: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []  # every API request: method, path, query, form
        self._lock = threading.Lock()
        self._in_flight = 0
        self.max_in_flight = 0  # the most API requests answered at once, since the last reset
        self.connections = 0  # TCP connections accepted, since the last reset
        #: Final status of messages to a number, for status callbacks: to -> (status, error code).
        self.delivery_outcomes: dict[str, tuple[str, int | None]] = {}
        #: Final status of one message (sid -> (status, error code)), before delivery_outcomes.
        self.message_outcomes: dict[str, tuple[str, int | None]] = {}
        #: Content templates: SID -> body with ``{{1}}``-style variables (Twilio's Content API).
        self.contents: dict[str, str] = {DEMO_CONTENT_SID: "Your appointment is on {{1}} at {{2}}"}
        #: When each address last wrote in (inbound messages): the WhatsApp 24-hour window.
        self.last_inbound: dict[str, datetime] = {}
        self.webhook_deliveries: list[dict[str, Any]] = []  # every webhook sent, and its answer
        self.status_callbacks = True  # False: status callbacks are not sent (not a Twilio switch)
        self._callbacks: queue.Queue[tuple[str, dict[str, str]] | None] = queue.Queue()
        #: Status callbacks since the emulator started (the last drain's are subtracted from these).
        self._callback_counts = CallbackReport()
        self._drained = CallbackReport()
        self._count_lock = threading.Lock()
        self._callback_thread = threading.Thread(target=self._deliver_callbacks, daemon=True)
        #: The emulator's clock: real time (``clock_speed`` times faster since the last change of
        #: speed) plus this offset (``advance`` moves it forward).
        self.clock_offset = timedelta(0)
        self.clock_speed = 1.0
        self._clock_anchor = (time.time(), time.time())  # (real, simulated) at the last change
        #: Per-sender throughput and queues (opt-in): see :mod:`local.twilio_emulator.queues`.
        self.throughput = Throughput(throughput, senders)
        self._status_callback_urls: dict[str, str] = {}  # sid -> StatusCallback (model on)
        self._validity: dict[str, int] = {}  # sid -> ValidityPeriod of a scheduled message
        #: Model on: sid -> (created, sent) on the simulated clock, seconds since the epoch.
        self.queue_times: dict[str, tuple[float, float]] = {}
        self.refused: dict[str, int] = {}  # Twilio code -> creates refused with it
        self._process_lock = threading.Lock()
        #: Scheduled messages: sid -> (SendAt, StatusCallback or None).
        self.scheduled: dict[str, tuple[datetime, str | None]] = {}
        self._schedule: list[tuple[datetime, int, str]] = []  # heap of (SendAt, order, sid)
        self._clock_moved = threading.Event()
        self.set_clock_speed(clock_speed, real_time=True)
        self._running = False
        self._scheduler_thread = threading.Thread(target=self._run_scheduler, daemon=True)
        self._server = _Server((host, port), _Handler)
        self._server.daemon_threads = True
        self._server.emulator = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None
        from local.twilio_emulator.verify_lookup import VerifyLookup

        self.verify_lookup = VerifyLookup(self)  # Verify v2 and Lookup v2

    # --- lifecycle -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> TwilioEmulator:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self._callback_thread.start()
        self._running = True
        self._scheduler_thread.start()
        return self

    def stop(self) -> None:
        self._running = False
        self._clock_moved.set()
        self._callbacks.put(None)
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> TwilioEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self, settle_seconds: float = 5.0) -> None:
        """Forget everything, once requests still being answered (a slow one) have finished."""
        deadline = time.monotonic() + settle_seconds
        while self._in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        self.drain_callbacks(settle_seconds)
        with self._lock:
            self.faults = Faults()
            self.messages.clear()
            self.calls.clear()
            self.requests.clear()
            self.delivery_outcomes.clear()
            self.message_outcomes.clear()
            self.contents = {DEMO_CONTENT_SID: "Your appointment is on {{1}} at {{2}}"}
            self.last_inbound.clear()
            self.webhook_deliveries.clear()
            self.status_callbacks = True
            self.scheduled.clear()
            self._schedule.clear()
            self.clock_offset = timedelta(0)
            self._status_callback_urls.clear()
            self._validity.clear()
            self.queue_times.clear()
            self.refused.clear()
            self.max_in_flight = 0
            self.connections = 0
        self.throughput.reset()
        self.set_clock_speed(1.0, real_time=True)
        self.verify_lookup.reset()

    # --- the clock and the scheduler ------------------------------------------------------------
    def clock(self) -> float:
        """The simulated time in seconds since the epoch (with the ``advance`` offset)."""
        real, simulated = self._clock_anchor
        offset = self.clock_offset.total_seconds()
        return simulated + (time.time() - real) * self.clock_speed + offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC).replace(microsecond=0)

    def set_clock_speed(self, speed: float, real_time: bool = False) -> tuple[float, float]:
        """Run the clock ``speed`` times faster than real time from now on (0: it stands still
        but for ``advance``; ``real_time``: start again from the real time). The anchor: the
        real and the simulated time at the change (another clock kept in step starts there)."""
        if not 0 <= speed < float("inf"):
            raise ValueError("the clock's speed must be a number from 0")
        real = time.time()
        with self._lock:
            simulated = real if real_time else self.clock() - self.clock_offset.total_seconds()
            self._clock_anchor, self.clock_speed = (real, simulated), float(speed)
        self._clock_moved.set()
        return real, simulated

    def advance(self, delta: timedelta) -> list[str]:
        """Move the clock forward by ``delta``; the SIDs of the scheduled messages released."""
        with self._lock:
            self.clock_offset += delta
        released = self.release_due()
        self.process_due()
        self._clock_moved.set()
        return released

    def release_due(self) -> list[str]:
        """Send every scheduled message whose SendAt has come, as Twilio does at SendAt."""
        now = self.now()
        with self._lock:
            due = []  # by SendAt, then in the order they were created
            while self._schedule and self._schedule[0][0] <= now:
                send_at, _, sid = heapq.heappop(self._schedule)
                if sid in self.scheduled:  # not canceled
                    due.append((send_at, sid))
            released = []
            for send_at, sid in due:
                _, callback = self.scheduled.pop(sid)
                message = self.messages[sid]
                message["status"] = "queued"
                message["date_updated"] = rfc2822(now)
                released.append(sid)
                if self.throughput.enabled:  # it joins its service's queue at SendAt
                    if callback:
                        self._status_callback_urls[sid] = callback
                    self._reserve(message, send_at.timestamp(), self._validity.pop(sid, None))
                    continue
                # a Messaging Service picks the sender from its pool when it sends
                message["from"] = message["from"] or min(self.numbers)
                if callback:
                    self._queue_callbacks(callback, sid)
        return released

    def _run_scheduler(self) -> None:
        """Release scheduled messages and apply the queues' status changes as the clock reaches
        them (a process run by hand, a fast clock): one thread, no timer per message."""
        while self._running:
            wait = 1.0
            if self.throughput.enabled:
                due = self.throughput.next_due()
                speed = self.clock_speed or 1e-9
                ahead = (due - self.clock()) / speed if due is not None else 1.0
                wait = min(max(ahead, 0.001), 0.05)
            elif self.clock_speed > 1:
                wait = max(0.001, min(1.0, 1.0 / self.clock_speed))
            self._clock_moved.wait(timeout=wait)
            self._clock_moved.clear()
            if self._running:
                self.release_due()
                self.process_due()

    # --- the resource ----------------------------------------------------------------------------
    def create_message(self, account: str, form: dict[str, list[str]]) -> dict[str, Any]:
        """Create a message (201) or refuse it with Twilio's error (counted in ``refused``)."""
        try:
            return self._create_message(account, form)
        except TwilioApiError as error:
            with self._lock:
                self.refused[str(error.code)] = self.refused.get(str(error.code), 0) + 1
            raise

    def _create_message(self, account: str, form: dict[str, list[str]]) -> dict[str, Any]:
        to = _one(form, "To")
        sender = _one(form, "From")
        service = _one(form, "MessagingServiceSid")
        body = _one(form, "Body")
        media = form.get("MediaUrl", [])
        content_sid = _one(form, "ContentSid")
        if not to:
            raise TwilioApiError(400, 21604, "A 'To' phone number is required.")
        if not sender and not service:
            raise TwilioApiError(400, 21603, "A 'From' phone number is required.")
        if content_sid:
            body = self._content_body(content_sid, _one(form, "ContentVariables"))
        elif _one(form, "ContentVariables"):
            raise TwilioApiError(400, 21656, "ContentVariables needs a ContentSid.")
        if not body and not media:
            raise TwilioApiError(400, 21602, "Message body is required.")
        if body and len(body) > 1600:
            raise TwilioApiError(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        if len(media) > 10:
            raise TwilioApiError(400, 21623, "Number of media files exceeds allowed limit.")
        if service and not re.fullmatch(r"MG[0-9a-fA-F]{32}", service):
            raise TwilioApiError(400, 21701, f"The Messaging Service Sid {service} is invalid.")
        callback = _one(form, "StatusCallback")
        if callback and not re.match(r"^https?://[^\s/]+", callback):
            raise TwilioApiError(400, 21609, "Invalid StatusCallback url.")
        validity = _one(form, "ValidityPeriod")
        if validity and not (validity.isdigit() and 1 <= int(validity) <= MAX_VALIDITY):
            raise TwilioApiError(400, 21624, "Invalid validity period value")
        if sender:
            if sender == MAGIC_INVALID_FROM:
                raise TwilioApiError(
                    400,
                    21212,
                    f"The 'From' number {sender} is not a valid phone number, shortcode, "
                    "or alphanumeric sender ID.",
                )
            if to.lower().startswith("whatsapp:") != sender.lower().startswith("whatsapp:"):
                raise TwilioApiError(
                    400,
                    21910,
                    "Invalid From and To pair. From and To should be of the same channel",
                )
            bare = sender.removeprefix("whatsapp:")
            if not _ALPHANUMERIC.match(sender) and bare not in self.numbers:
                raise TwilioApiError(
                    400,
                    21606,
                    f"The From phone number {sender} is not a valid, SMS-capable inbound phone "
                    "number or short code for your account.",
                )
        if not _E164.match(to):
            raise TwilioApiError(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        magic = MAGIC_TO.get(to.removeprefix("whatsapp:"))
        if magic:
            status, code, template = magic
            raise TwilioApiError(status, code, template.format(to=to, from_=sender))
        send_at = self._send_at(form, service)
        status = "scheduled" if send_at else ("accepted" if service and not sender else "queued")
        if self.throughput.enabled:
            with self._process_lock:  # its status changes wait until it is stored
                return self._create_queued(
                    account, form, to, sender, service, body, status, send_at, callback, validity
                )
        message = self.store(
            account,
            to=to,
            from_=sender or None,
            body=body or "",
            status=status,
            messaging_service_sid=service or None,
            num_media=len(media),
            send_at=send_at,
            status_callback=callback or None,
        )
        if to.startswith("whatsapp:") and not content_sid and not self._in_window(to):
            # accepted, then failed: a free-form message outside the customer-service window
            self.message_outcomes[message["sid"]] = ("failed", 63016)
            if not (callback and self.status_callbacks):
                answer = dict(message)
                self._settle(message, "failed", 63016)
                return answer
        if callback and not send_at and self.status_callbacks:
            self._queue_callbacks(callback, message["sid"])
        return message

    def _create_queued(
        self,
        account: str,
        form: dict[str, list[str]],
        to: str,
        sender: str,
        service: str,
        body: str,
        status: str,
        send_at: datetime | None,
        callback: str,
        validity: str,
    ) -> dict[str, Any]:
        """A create with the throughput model on: the message joins its sender's queue (21611
        when a From number's queue is full), or is held until SendAt, or fails (63016)."""
        sid = "SM" + uuid.uuid4().hex
        created = self.clock()
        outside_window = (
            to.startswith("whatsapp:") and not _one(form, "ContentSid") and not self._in_window(to)
        )
        if not send_at and not outside_window and sender:
            decision = self.throughput.reserve(
                sid, sender, created, segments(body or ""), int(validity or MAX_VALIDITY), False
            )
            if decision.refused:
                raise TwilioApiError(400, decision.refused, ERROR_MESSAGES[decision.refused])
            if decision.send_at is not None:
                self.queue_times[sid] = (created, decision.send_at)
        if callback:
            self._status_callback_urls[sid] = callback
        message = self.store(
            account,
            sid=sid,
            to=to,
            from_=sender or None,
            body=body or "",
            status=status,
            messaging_service_sid=service or None,
            num_media=len(form.get("MediaUrl", [])),
            send_at=send_at,
            status_callback=callback or None,
            date_created=datetime.fromtimestamp(created, UTC).replace(microsecond=0),
        )
        answer = dict(message)
        if send_at:
            if validity:
                self._validity[sid] = int(validity)
        elif outside_window:
            self.throughput.fail(sid, created, 63016)
        elif not sender:
            self._reserve(message, created, int(validity or MAX_VALIDITY))
        self._clock_moved.set()
        return answer

    def _content_body(self, sid: str, raw_variables: str) -> str:
        """A Content template's text with its variables (its own placeholder where not given)."""
        if not re.fullmatch(r"HX[0-9a-fA-F]{32}", sid) or sid not in self.contents:
            raise TwilioApiError(400, 21655, "The Content SID is Invalid.")
        variables: dict[str, Any] = {}
        if raw_variables:
            try:
                variables = json.loads(raw_variables)
            except ValueError:
                variables = None  # type: ignore[assignment]
            if not isinstance(variables, dict) or not all(
                isinstance(value, str) for value in variables.values()
            ):
                raise TwilioApiError(400, 21656, "The ContentVariables Parameter is invalid.")
        return _CONTENT_VARIABLE.sub(
            lambda m: variables.get(m.group(1), m.group(0)), self.contents[sid]
        )

    def _in_window(self, to: str) -> bool:
        """Whether ``to`` wrote in within WhatsApp's 24-hour customer-service window."""
        last = self.last_inbound.get(to)
        return last is not None and self.now() - last <= WHATSAPP_WINDOW

    def _settle(self, message: dict[str, Any], status: str, error: int | None) -> None:
        with self._lock:
            message["status"] = status
            message["date_updated"] = rfc2822(self.now())
            if error:
                message["error_code"] = error
                if error == 63016:
                    message["error_message"] = WHATSAPP_63016

    def _send_at(self, form: dict[str, list[str]], service: str) -> datetime | None:
        """When a message is to be sent, if it is scheduled. Twilio schedules with
        ``ScheduleType=fixed``, ``SendAt`` and a Messaging Service; without the service it
        drops the scheduling and sends at once (as its scheduling guide says)."""
        schedule_type, raw = _one(form, "ScheduleType"), _one(form, "SendAt")
        if not schedule_type:
            return None
        if schedule_type != "fixed":
            raise TwilioApiError(400, 20001, f"Invalid ScheduleType: {schedule_type}")
        if not raw:
            raise TwilioApiError(400, 35111, "SendAt timestamp is missing: ScheduleType is 'fixed'")
        if not service:
            return None
        try:
            send_at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            send_at = None
        now = self.now()
        if send_at is None or send_at.tzinfo is None:
            raise TwilioApiError(400, 35114, "SendAt must be an ISO-8601 timestamp in UTC")
        if not now + SCHEDULE_MIN <= send_at <= now + SCHEDULE_MAX:
            raise TwilioApiError(
                400,
                35114,
                "SendAt time must be between 900 seconds and 35 days (3024000 seconds) in the "
                "future, inclusive.",
            )
        return send_at.astimezone(UTC)

    def update_message(
        self, account: str, sid: str, form: dict[str, list[str]], path: str
    ) -> dict[str, Any]:
        """``Status=canceled`` cancels a scheduled message (30409 once it is not scheduled);
        ``Body=`` (empty) redacts the body of a message that is no longer in flight."""
        message = self.fetch_message(account, sid, path)
        status, body = form.get("Status"), form.get("Body")
        if status is None and body is None:
            raise TwilioApiError(400, 20001, "Status or Body is required")
        with self._lock:
            if status is not None:
                if status != ["canceled"]:
                    raise TwilioApiError(400, 20001, f"Invalid Status: {status[0]}")
                if message["status"] != "scheduled":
                    raise TwilioApiError(400, 30409, "This message cannot be canceled")
                self.scheduled.pop(sid, None)
                message["status"] = "canceled"
            if body is not None:
                if body != [""]:
                    raise TwilioApiError(400, 20001, "Body can only be redacted (set to '')")
                message["body"] = ""
            message["date_updated"] = rfc2822(self.now())
        return message

    def store(
        self,
        account: str,
        *,
        to: str,
        from_: str | None,
        body: str,
        status: str = "queued",
        messaging_service_sid: str | None = None,
        num_media: int = 0,
        direction: str = "outbound-api",
        date_created: datetime | None = None,
        date_sent: datetime | None = None,
        sid: str | None = None,
        send_at: datetime | None = None,
        status_callback: str | None = None,
    ) -> dict[str, Any]:
        """Store a message resource (also used to seed the emulator with history); with
        ``send_at``, a message scheduled for then (sent when the clock reaches it)."""
        status = "scheduled" if send_at else status
        sid = sid or "SM" + uuid.uuid4().hex
        now = date_created or self.now()
        uri = f"{API}/Accounts/{account}/Messages/{sid}.json"
        resource = {
            "account_sid": account,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": rfc2822(now),
            "date_sent": rfc2822(date_sent),
            "date_updated": rfc2822(now),
            "direction": direction,
            "error_code": None,
            "error_message": None,
            "from": from_,
            "messaging_service_sid": messaging_service_sid,
            "num_media": str(num_media),
            "num_segments": str(segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": status,
            "subresource_uris": {
                "media": uri.replace(".json", "/Media.json"),
                "feedback": uri.replace(".json", "/Feedback.json"),
            },
            "to": to,
            "uri": uri,
        }
        with self._lock:
            self.messages[sid] = resource
            if send_at:
                self.scheduled[sid] = (send_at, status_callback)
                heapq.heappush(self._schedule, (send_at, len(self.messages), sid))
        return resource

    def create_call(self, account: str, form: dict[str, list[str]]) -> dict[str, Any]:
        to, sender = _one(form, "To"), _one(form, "From")
        url, twiml = _one(form, "Url"), _one(form, "Twiml")
        if not to:
            raise TwilioApiError(400, 21201, "No 'To' number is specified")
        if not sender:
            raise TwilioApiError(400, 21213, "No 'From' number is specified")
        if not url and not twiml and not _one(form, "ApplicationSid"):
            raise TwilioApiError(400, 21205, "Url parameter is required.")
        if url and not re.match(r"^https?://[^\s/]+", url):
            raise TwilioApiError(400, 21205, f"Url is not a valid URL: {url}")
        if twiml and len(twiml) > 4000:
            raise TwilioApiError(400, 21236, "Twiml is over 4000 characters")
        if sender == MAGIC_INVALID_FROM:
            raise TwilioApiError(400, 21212, f"Invalid From number: {sender}")
        if not sender.startswith("client:") and sender not in self.numbers:
            raise TwilioApiError(
                400,
                21210,
                f"The source phone number provided, {sender}, is not yet verified for your "
                "account.",
            )
        if not (_E164.match(to) or to.startswith(("sip:", "client:"))):
            raise TwilioApiError(400, 21217, f"Phone number {to} does not appear to be valid")
        magic = MAGIC_CALL_TO.get(to)
        if magic:
            status, code, template = magic
            raise TwilioApiError(status, code, template.format(to=to))
        sid = "CA" + uuid.uuid4().hex
        now = rfc2822(self.now())
        uri = f"{API}/Accounts/{account}/Calls/{sid}.json"
        call = {
            "account_sid": account,
            "annotation": None,
            "answered_by": None,
            "api_version": "2010-04-01",
            "caller_name": None,
            "date_created": now,
            "date_updated": now,
            "direction": "outbound-api",
            "duration": None,
            "end_time": None,
            "forwarded_from": None,
            "from": sender,
            "from_formatted": sender,
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": "PN" + "0" * 32,
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": sid,
            "start_time": None,
            "status": "queued",
            "subresource_uris": {
                name: uri.replace(".json", f"/{name.title()}.json")
                for name in ("notifications", "recordings", "payments", "events", "streams")
            },
            "to": to,
            "to_formatted": to,
            "trunk_sid": None,
            "uri": uri,
        }
        with self._lock:
            self.calls[sid] = {**call, "twiml": twiml or None, "url": url or None}
        return call

    def fetch_call(self, account: str, sid: str, path: str) -> dict[str, Any]:
        call = self.calls.get(sid)
        if call is None or call["account_sid"] != account:
            raise TwilioApiError(404, 20404, f"The requested resource {path} was not found")
        return {k: v for k, v in call.items() if k not in ("twiml", "url")}

    def fetch_message(self, account: str, sid: str, path: str) -> dict[str, Any]:
        message = self.messages.get(sid)
        if message is None or message["account_sid"] != account:
            raise TwilioApiError(404, 20404, f"The requested resource {path} was not found")
        return message

    def list_messages(self, account: str, query: dict[str, list[str]]) -> dict[str, Any]:
        page_size = _int(query, "PageSize", 50, 1, 1000)
        page = _int(query, "Page", 0, 0, 10**9)
        to, sender = _one(query, "To"), _one(query, "From")
        on = _moment(query, "DateSent")
        before, after = _moment(query, "DateSent<"), _moment(query, "DateSent>")
        with self._lock:
            everything = list(reversed(self.messages.values()))  # newest first, like Twilio
        selected = [
            m
            for m in everything
            if m["account_sid"] == account
            and (not to or m["to"] == to)
            and (not sender or m["from"] == sender)
            and _sent_matches(m, on, before, after)
        ]
        token = _one(query, "PageToken")
        start_index = 0
        if token:
            if not token.startswith("PA"):
                raise TwilioApiError(400, 20001, "Invalid PageToken")
            after_sid = token[2:]
            positions = {m["sid"]: i for i, m in enumerate(selected)}
            if after_sid not in positions:
                raise TwilioApiError(400, 20001, "Invalid PageToken")
            start_index = positions[after_sid] + 1
        items = selected[start_index : start_index + page_size]
        base = f"{API}/Accounts/{account}/Messages.json"
        filters = {k: v[0] for k, v in query.items() if k in ("To", "From") or k.startswith("Date")}

        def page_uri(**extra: Any) -> str:
            return f"{base}?{urlencode({**filters, 'PageSize': page_size, **extra})}"

        has_more = start_index + page_size < len(selected)
        return {
            "end": page * page_size + len(items) - 1 if items else page * page_size,
            "first_page_uri": page_uri(Page=0),
            "messages": items,
            "next_page_uri": page_uri(Page=page + 1, PageToken="PA" + items[-1]["sid"])
            if has_more and items
            else None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": page_uri(Page=page - 1) if page > 0 else None,
            "start": page * page_size,
            "uri": page_uri(Page=page),
        }

    # --- webhooks: what Twilio sends to the account's URLs -----------------------------------
    def signed_post(self, url: str, params: dict[str, str], account: str | None = None) -> dict:
        """POST form ``params`` to ``url`` signed with the account's token, as Twilio does.
        Returns the answer: status, content type, body."""
        from twilio.request_validator import RequestValidator

        token = self.accounts[account or next(iter(self.accounts))]
        signature = RequestValidator(token).compute_signature(url, params)
        request = urllib.request.Request(
            url,
            data=urlencode(params).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
                "X-Twilio-Signature": signature,
                "User-Agent": "TwilioProxy/1.1",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as answer:
                result = {
                    "status": answer.status,
                    "content_type": answer.headers.get("Content-Type"),
                    "body": answer.read().decode(),
                }
        except urllib.error.HTTPError as error:
            result = {
                "status": error.code,
                "content_type": error.headers.get("Content-Type"),
                "body": error.read().decode(),
            }
        self.webhook_deliveries.append({"url": url, "params": params, **result})
        return result

    def deliver_incoming(
        self, url: str, body: str, from_: str, to: str = MAGIC_FROM, account: str | None = None
    ) -> dict:
        """A message comes in: store it and call the number's messaging webhook at ``url``."""
        account = account or next(iter(self.accounts))
        message = self.store(
            account, to=to, from_=from_, body=body, status="received", direction="inbound"
        )
        with self._lock:
            self.last_inbound[from_] = self.now()
        params = {
            "ToCountry": "US",
            "ToState": "CA",
            "SmsMessageSid": message["sid"],
            "NumMedia": "0",
            "ToCity": "",
            "FromZip": "",
            "SmsSid": message["sid"],
            "FromState": "",
            "SmsStatus": "received",
            "FromCity": "",
            "Body": body,
            "FromCountry": "US",
            "To": to,
            "ToZip": "",
            "NumSegments": message["num_segments"],
            "MessageSid": message["sid"],
            "AccountSid": account,
            "From": from_,
            "ApiVersion": "2010-04-01",
        }
        return self.signed_post(url, params, account)

    def _count(self, name: str, n: int) -> None:
        with self._count_lock:
            setattr(self._callback_counts, name, getattr(self._callback_counts, name) + n)

    def _queue_callbacks(self, url: str, sid: str) -> None:
        """The message's two status callbacks ("sent", then its final status) go out in order."""
        self._count("expected", 2)
        self._callbacks.put((url, {"sid": sid}))

    def _deliver_callbacks(self) -> None:
        """After a send with a StatusCallback: "sent", then the final status, as Twilio does
        (with the throughput model on, each status change is its own item, already applied)."""
        while (item := self._callbacks.get()) is not None:
            url, data = item
            try:
                message = self.messages.get(data["sid"])
                if message is None:
                    self._count("expected", -1 if "status" in data else -2)
                    continue
                if "status" in data:
                    self._post_status(url, message, data["status"], data["error"])
                    continue
                final, error = self.message_outcomes.get(message["sid"]) or (
                    self.delivery_outcomes.get(message["to"], ("delivered", None))
                )
                # refused before sending (63016): queued, then failed, never sent
                for status in ("sent", final) if error != 63016 else (final,):
                    now = self.now()
                    with self._lock:
                        message["status"] = status
                        message["date_updated"] = rfc2822(now)
                        message["date_sent"] = message["date_sent"] or rfc2822(now)
                        if status != "sent" and error:
                            message["error_code"] = error
                            if error == 63016:
                                message["error_message"] = WHATSAPP_63016
                                message["date_sent"] = None
                    self._post_status(url, message, status, error if status != "sent" else None)
            finally:
                self._callbacks.task_done()

    def _post_status(
        self, url: str, message: dict[str, Any], status: str, error: int | None
    ) -> None:
        """One signed status callback, counted by what became of it."""
        params = {
            "SmsSid": message["sid"],
            "SmsStatus": status,
            "MessageStatus": status,
            "To": message["to"],
            "MessageSid": message["sid"],
            "AccountSid": message["account_sid"],
            "From": message["from"] or "",
            "ApiVersion": "2010-04-01",
        }
        if error:
            params["ErrorCode"] = str(error)
        try:
            answer = self.signed_post(url, params, message["account_sid"])
        except OSError:
            self.webhook_deliveries.append({"url": url, "params": params, "status": None})
            self._count("unreachable", 1)
        else:
            self._count("arrived" if 200 <= answer["status"] < 300 else "refused", 1)

    def drain_callbacks(self, timeout: float = 10.0) -> CallbackReport:
        """Wait until every status callback queued so far has been delivered, or until none has
        gone out for ``timeout`` seconds; what was waited for since the last drain, and what
        became of it."""
        counts = self._callback_counts
        done = counts.arrived + counts.refused + counts.unreachable
        deadline = time.monotonic() + timeout
        while self._callbacks.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
            now_done = counts.arrived + counts.refused + counts.unreachable
            if now_done != done:  # progress: a large send's callbacks take their time
                done, deadline = now_done, time.monotonic() + timeout
        with self._count_lock:
            last, self._drained = self._drained, CallbackReport(**vars(counts))
        return CallbackReport(
            expected=self._drained.expected - last.expected,
            arrived=self._drained.arrived - last.arrived,
            refused=self._drained.refused - last.refused,
            unreachable=self._drained.unreachable - last.unreachable,
            gave_up=bool(self._callbacks.unfinished_tasks),
        )

    # --- auth ------------------------------------------------------------------------------------
    def authenticate(self, header: str | None, account: str) -> None:
        denied = TwilioApiError(401, 20003, "Authenticate")
        if not header or not header.startswith("Basic "):
            raise denied
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise denied from None
        if user in self.accounts and self.accounts[user] == password and user == account:
            return
        key = self.api_keys.get(user)
        if key and key == (password, account):
            return
        raise denied


def _one(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name) or [""]
    return values[0]


def _int(query: dict[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    raw = _one(query, name)
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise TwilioApiError(400, 20001, f"Invalid {name}: must be from {low} to {high}")
    return int(raw)


def _moment(query: dict[str, list[str]], name: str) -> date | datetime | None:
    """A filter's value: a date (``2026-03-01``) or, with a time, an aware date-time."""
    raw = _one(query, name)
    if not raw:
        return None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            return date.fromisoformat(raw)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(raw)
        except (ValueError, TypeError):
            raise TwilioApiError(400, 20001, f"Invalid {name}: {raw}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _sent_matches(message: dict, on: date | None, before: date | None, after: date | None) -> bool:
    if on is None and before is None and after is None:
        return True
    if not message["date_sent"]:
        return False
    sent = parsedate_to_datetime(message["date_sent"])

    def compare(bound: date) -> tuple[date | datetime, date | datetime]:
        return (sent, bound) if isinstance(bound, datetime) else (sent.date(), bound)

    if on is not None and compare(on)[0] != compare(on)[1]:
        return False
    if before is not None and compare(before)[0] > compare(before)[1]:
        return False
    return after is None or compare(after)[0] >= compare(after)[1]


_MESSAGES = re.compile(rf"^{API}/Accounts/(?P<account>[^/]+)/Messages\.json$")
_MESSAGE = re.compile(rf"^{API}/Accounts/(?P<account>[^/]+)/Messages/(?P<sid>[^/]+)\.json$")
_CALLS = re.compile(rf"^{API}/Accounts/(?P<account>[^/]+)/Calls\.json$")
_CALL = re.compile(rf"^{API}/Accounts/(?P<account>[^/]+)/Calls/(?P<sid>[^/]+)\.json$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # one response is two writes: no 40 ms delayed-ACK stall
    server_version = "TwilioEmulator/1.0"

    @property
    def emulator(self) -> TwilioEmulator:
        return self.server.emulator  # type: ignore[attr-defined]

    def setup(self) -> None:
        super().setup()
        with self.emulator._lock:
            self.emulator.connections += 1

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the emulator logs nothing (request lines carry phone numbers)."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if parts.path.startswith("/__emulator"):
            self._control(method, parts.path, raw)
            return
        emulator = self.emulator
        with emulator._lock:
            emulator.requests.append(
                {
                    "method": method,
                    "path": parts.path,
                    "query": parse_qs(parts.query, keep_blank_values=True),
                    "form": parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True),
                }
            )
            faults = emulator.faults
            if faults.drop_next > 0:
                faults.drop_next -= 1
                self.close_connection = True
                self.connection.shutdown(2)
                return
            status = faults.fail_statuses.pop(0) if faults.fail_statuses else None
            error = faults.fail_errors.pop(0) if faults.fail_errors else None
            emulator._in_flight += 1
            emulator.max_in_flight = max(emulator.max_in_flight, emulator._in_flight)
            over_cap = faults.max_concurrency and emulator._in_flight > faults.max_concurrency
            latency = faults.latency
        try:
            if latency:
                time.sleep(latency)
            if over_cap:
                raise TwilioApiError(429, 20429, "Too Many Requests")
            if status:
                raise TwilioApiError(status, status, HTTPStatus(status).phrase)
            if error:
                raise TwilioApiError(error["status"], error["code"], error.get("message", "Error"))
            if method == "POST" and _MESSAGES.match(parts.path):
                with emulator._lock:
                    slow = faults.slow_commit > 0
                    faults.slow_commit -= 1 if slow else 0
                if slow:  # a slow commit: stored after the client may have given up waiting
                    time.sleep(faults.commit_seconds)
            code, body = self._route(method, parts.path, parts.query, raw)
            if method == "POST" and code == 201:
                with emulator._lock:
                    drop = faults.drop_after_store > 0
                    faults.drop_after_store -= 1 if drop else 0
                    hang = not drop and faults.hang_after_store > 0
                    faults.hang_after_store -= 1 if hang else 0
                    status = faults.fail_after_store.pop(0) if faults.fail_after_store else None
                if status:  # stored, then a failure on the way back (an edge or proxy's 5xx)
                    raise TwilioApiError(status, status, HTTPStatus(status).phrase)
                if drop:  # stored, but the answer never leaves: the client cannot know
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if hang:
                    time.sleep(faults.hang_seconds)
        except TwilioApiError as error:
            code, body = error.status, error.body()
        finally:
            with emulator._lock:
                emulator._in_flight -= 1
        self._send(code, body)

    def _route(self, method: str, path: str, query: str, raw: bytes) -> tuple[int, dict]:
        emulator = self.emulator
        if path.startswith("/v2/"):  # Verify v2 and Lookup v2 (verify_lookup.py)
            authorization = self.headers.get("Authorization")
            return emulator.verify_lookup.route(method, path, query, raw, authorization)
        match = next(
            (m for m in (p.match(path) for p in (_MESSAGES, _MESSAGE, _CALLS, _CALL)) if m), None
        )
        if not match:
            raise TwilioApiError(404, 20404, f"The requested resource {path} was not found")
        account = match.group("account")
        emulator.authenticate(self.headers.get("Authorization"), account)
        if emulator.throughput.enabled and method == "GET":
            emulator.process_due()  # what is read is what the clock says
        if match.re is _CALLS and method == "POST":
            form = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
            return 201, emulator.create_call(account, form)
        if match.re is _CALL and method == "GET":
            return 200, emulator.fetch_call(account, match.group("sid"), path)
        if match.re in (_CALLS, _CALL):
            raise TwilioApiError(405, 20004, "Method not allowed")
        if _MESSAGES.match(path) and method == "POST":
            form = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
            return 201, emulator.create_message(account, form)
        if _MESSAGES.match(path) and method == "GET":
            return 200, emulator.list_messages(account, parse_qs(query, keep_blank_values=True))
        if method == "GET":
            return 200, emulator.fetch_message(account, match.group("sid"), path)
        if method == "POST":
            form = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
            return 200, emulator.update_message(account, match.group("sid"), form, path)
        raise TwilioApiError(405, 20004, "Method not allowed")

    def _control(self, method: str, path: str, raw: bytes) -> None:
        emulator = self.emulator
        if path == "/__emulator/faults" and method == "POST":
            emulator.faults = Faults(**json.loads(raw or b"{}"))
            self._send(200, {"faults": vars(emulator.faults)})
        elif path == "/__emulator/messages" and method == "GET":
            emulator.process_due()
            self._send(200, {"messages": list(emulator.messages.values())})
        elif path == "/__emulator/clock" and method == "POST":
            request = json.loads(raw or b"{}")
            if request.get("speed") is not None:
                try:
                    emulator.set_clock_speed(float(request["speed"]))
                except (TypeError, ValueError) as error:
                    self._send(400, {"message": str(error)})
                    return
            seconds = float(request.get("advance_seconds", 0))
            released = emulator.advance(timedelta(seconds=max(seconds, 0)))
            self._send(
                200,
                {
                    "now": emulator.now().isoformat(),
                    "speed": emulator.clock_speed,
                    "released": released,
                },
            )
        elif path == "/__emulator/clock" and method == "GET":
            now = emulator.clock()
            iso = datetime.fromtimestamp(now, UTC).isoformat()
            self._send(200, {"now": iso, "epoch_seconds": now, "speed": emulator.clock_speed})
        elif path == "/__emulator/senders" and method == "POST":
            request = json.loads(raw or b"{}")
            try:
                emulator.configure_senders(
                    bool(request.get("enabled", True)), request.get("senders") or {}
                )
            except (TypeError, ValueError) as error:
                self._send(400, {"message": str(error)})
                return
            self._send(200, emulator.senders_view())
        elif path == "/__emulator/senders" and method == "GET":
            self._send(200, emulator.senders_view())
        elif path == "/__emulator/summary" and method == "GET":
            query = parse_qs(urlsplit(self.path).query)
            self._send(200, emulator.summary(to_counts=_one(query, "to_counts") != "false"))
        elif path == "/__emulator/reset" and method == "POST":
            emulator.reset()
            self._send(200, {"reset": True})
        else:
            self._send(404, {"message": "unknown control path"})

    def _send(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout): as Twilio would
