"""Per-sender throughput and queues, as Twilio meters outbound messages (opt-in; not product code).

Twilio sends each sender's messages at that sender's rate in message segments per second (MPS)
and queues the rest (https://www.twilio.com/docs/api/errors/21611,
https://www.twilio.com/docs/api/errors/30001):

- a US/Canada long code sends 1 segment per second, a short code 100 ("a US long code number can
  send one message segment per second, and a short code may send over 100"; errors 21611 and
  30001);
- a US toll-free number (+1 800/833/844/855/866/877/888) 3 ("By default, any US Toll-Free number
  ... offers an SMS sending throughput of 3 MPS", Twilio support, "Toll-Free SMS and MMS messaging
  throughput (MPS)"); a number outside +1 (and an alphanumeric sender ID) 10 (the same article:
  "the standard throughput of 10 MPS, just like all other Twilio numbers sending outside of the
  +1 region");
- a ``whatsapp:`` sender 80 ("80 MPS (messages per second) by default per WhatsApp sender",
  https://www.twilio.com/docs/whatsapp/best-practices-and-faqs);
- a Messaging Service sends at the sum of its senders' rates (the emulator's ``numbers`` unless
  configured), or at the rate it is given.

A queue holds at most 10 hours (36,000 s) of sending: a message that would wait longer is refused
at create with 400 / 21611 when sent from a ``From`` number, and accepted, then failed with 30001
(Queue overflow) through a Messaging Service. A message that would wait longer than its
``ValidityPeriod`` (1 to 36,000 s, default 36,000; 21624 otherwise) fails with 30036 (Validity
Period Expired) when that period has passed, never sent (https://www.twilio.com/docs/api/errors/30036).
Neither a refused nor an expired message takes any of its sender's time.

All times are the emulator's simulated clock in seconds since the epoch (floats). The queues do
not run timers: each decision pushes its status changes on one heap that the emulator pops as
its clock passes them (:meth:`Throughput.pop_due`).
"""

from __future__ import annotations

import heapq
import itertools
import queue
import re
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

#: Twilio's queue limit, and the largest and default ValidityPeriod.
QUEUE_SECONDS = 36_000
MAX_VALIDITY = 36_000
LONG_CODE_MPS = 1.0
TOLL_FREE_MPS = 3.0
SHORT_CODE_MPS = 100.0
WHATSAPP_MPS = 80.0
OTHER_MPS = 10.0  # a number outside +1, an alphanumeric sender ID
_TOLL_FREE = re.compile(r"^\+1(800|833|844|855|866|877|888)\d{7}$")
_NANP = re.compile(r"^\+1\d{10}$")
_SHORT_CODE = re.compile(r"^\d{5,6}$")
ERROR_MESSAGES = {
    21611: "This 'From' number has exceeded the maximum number of queued messages",
    30001: "Queue overflow",
    30036: "Validity Period Expired",
    63016: (
        "Failed to send freeform message because you are outside the allowed window. If you "
        "are using WhatsApp, please use a Message Template."
    ),
}


def default_mps(sender: str) -> float:
    """A sender's rate in segments per second, by its type (see the module docstring)."""
    if sender.lower().startswith("whatsapp:"):
        return WHATSAPP_MPS
    if _SHORT_CODE.match(sender):
        return SHORT_CODE_MPS
    if _TOLL_FREE.match(sender):
        return TOLL_FREE_MPS
    if _NANP.match(sender):
        return LONG_CODE_MPS
    return OTHER_MPS


@dataclass(frozen=True)
class Decision:
    """What becomes of one message: sent at ``send_at``, or failed with ``error`` at ``fail_at``,
    or refused at create (``refused``: Twilio's code)."""

    send_at: float | None = None
    error: int | None = None
    fail_at: float | None = None
    refused: int | None = None


class Throughput:
    """Senders' rates, when each is next free, and the heap of status changes to come."""

    def __init__(self, enabled: bool = False, senders: dict[str, dict] | None = None) -> None:
        self._lock = threading.Lock()
        self.enabled = enabled
        self.senders: dict[str, dict[str, Any]] = {}
        self.free_at: dict[str, float] = {}  # sender or service -> when its queue is empty
        self._events: list[tuple[float, int, str, str, int | None]] = []
        self._sequence = itertools.count()
        self.configure(enabled, senders)

    def configure(self, enabled: bool, senders: dict[str, dict] | None = None) -> None:
        """Turn the model on or off; ``senders`` maps a sender (or ``MG...`` service) to
        ``{"mps": n}`` (a service also ``{"senders": [numbers]}``: the sum of their rates)."""
        for name, config in (senders or {}).items():
            if not isinstance(config, dict):
                raise ValueError(f"sender {name!r}: a JSON object expected")
            mps = config.get("mps")
            if mps is not None and (isinstance(mps, bool) or not float(mps) > 0):
                raise ValueError(f"sender {name!r}: mps must be a number above 0")
            pool = config.get("senders")
            if pool is not None and not (
                isinstance(pool, list) and all(isinstance(s, str) for s in pool)
            ):
                raise ValueError(f"sender {name!r}: senders must be a list of numbers")
        with self._lock:
            self.enabled = bool(enabled)
            self.senders.update(senders or {})

    def reset(self) -> None:
        with self._lock:
            self.enabled = False
            self.senders.clear()
            self.free_at.clear()
            self._events.clear()

    def mps(self, sender: str, pool: set[str] | None = None) -> float:
        """The rate of a sender, or of a service (the sum of its senders', ``pool`` by default)."""
        config = self.senders.get(sender, {})
        if config.get("mps") is not None:
            return float(config["mps"])
        if sender.startswith("MG"):
            members = config.get("senders") or sorted(pool or ())
            return sum(self.mps(member) for member in members) or LONG_CODE_MPS
        return default_mps(sender)

    def reserve(
        self,
        sid: str,
        key: str,
        now: float,
        segments: int,
        validity: int,
        through_service: bool,
        pool: set[str] | None = None,
    ) -> Decision:
        """Place a message created at ``now`` in ``key``'s queue and push its status changes:
        ``sent`` then ``final`` at its send time, or ``failed`` (30001 / 30036)."""
        with self._lock:
            start = max(now, self.free_at.get(key, now))
            wait = start - now
            if wait > QUEUE_SECONDS:
                if not through_service:
                    return Decision(refused=21611)
                decision = Decision(error=30001, fail_at=now)
            elif wait > validity:
                decision = Decision(error=30036, fail_at=now + validity)
            else:
                self.free_at[key] = start + segments / self.mps(key, pool)
                decision = Decision(send_at=start)
            if decision.send_at is not None:
                self._push(start, sid, "sent", None)
                self._push(start, sid, "final", None)
            else:
                self._push(decision.fail_at, sid, "failed", decision.error)  # type: ignore[arg-type]
        return decision

    def fail(self, sid: str, when: float, error: int) -> None:
        """A message failed without taking its sender's time (63016 outside WhatsApp's window)."""
        with self._lock:
            self._push(when, sid, "failed", error)

    def _push(self, when: float, sid: str, status: str, error: int | None) -> None:
        heapq.heappush(self._events, (when, next(self._sequence), sid, status, error))

    def known(self) -> set[str]:
        """The senders (and services) configured or used so far."""
        with self._lock:
            return set(self.senders) | set(self.free_at)

    def next_due(self) -> float | None:
        with self._lock:
            return self._events[0][0] if self._events else None

    def pop_due(self, now: float) -> list[tuple[float, str, str, int | None]]:
        """The status changes whose time has come, in time order: (when, sid, status, error)."""
        due = []
        with self._lock:
            while self._events and self._events[0][0] <= now:
                when, _, sid, status, error = heapq.heappop(self._events)
                due.append((when, sid, status, error))
        return due

    def pending(self) -> int:
        with self._lock:
            return len(self._events)


def _epoch(rfc2822: str) -> float:
    return parsedate_to_datetime(rfc2822).timestamp()


def _iso(moment: float) -> str | None:
    return datetime.fromtimestamp(moment, UTC).isoformat() if moment else None


class QueuedSending:
    """The emulator's side of the model (a mixin of ``TwilioEmulator``): messages join their
    sender's queue, their status changes are applied as the clock passes them, and the tally."""

    # provided by TwilioEmulator
    messages: dict[str, dict[str, Any]]
    numbers: set[str]
    message_outcomes: dict[str, tuple[str, int | None]]
    delivery_outcomes: dict[str, tuple[str, int | None]]
    status_callbacks: bool
    refused: dict[str, int]
    throughput: Throughput
    queue_times: dict[str, tuple[float, float]]
    _status_callback_urls: dict[str, str]
    _callbacks: queue.Queue
    _lock: threading.Lock
    _process_lock: threading.Lock
    _clock_moved: threading.Event

    def clock(self) -> float: ...  # pragma: no cover - TwilioEmulator's

    def _count(self, name: str, n: int) -> None: ...  # pragma: no cover - TwilioEmulator's

    def configure_senders(self, enabled: bool, senders: dict[str, dict] | None = None) -> None:
        """Turn the throughput model on or off; ``senders``: ``{sender or MG...: {"mps": n}}``."""
        self.throughput.configure(enabled, senders)
        self._clock_moved.set()

    def senders_view(self) -> dict[str, Any]:
        """The model's switch, the configured senders and the rate of each sender it knows."""
        known = self.throughput.known() | set(self.numbers)
        return {
            "enabled": self.throughput.enabled,
            "senders": self.throughput.senders,
            "mps": {name: self.throughput.mps(name, self.numbers) for name in sorted(known)},
        }

    def _reserve(self, message: dict[str, Any], created: float, validity: int | None) -> None:
        """Queue a message created (or released) at ``created`` behind its sender's messages."""
        service = message["messaging_service_sid"]
        key = service if service and not message["from"] else message["from"]
        decision = self.throughput.reserve(
            message["sid"],
            key,
            created,
            int(message["num_segments"]),
            validity or MAX_VALIDITY,
            through_service=key == service,
            pool=self.numbers,
        )
        if decision.send_at is not None:
            self.queue_times[message["sid"]] = (created, decision.send_at)
        self._clock_moved.set()

    def process_due(self) -> int:
        """Apply the queued status changes whose time has come (sent, then delivered or the
        outcome set for the message or number; failed with 30001 / 30036 / 63016), in order, and
        queue their status callbacks. Returns how many were applied."""
        with self._process_lock:
            due = self.throughput.pop_due(self.clock())
            for when, sid, status, error in due:
                message = self.messages.get(sid)
                if message is None or message["status"] == "canceled":
                    continue
                moment = format_datetime(datetime.fromtimestamp(when, UTC).replace(microsecond=0))
                if status == "final":
                    status, error = self.message_outcomes.get(sid) or (
                        self.delivery_outcomes.get(message["to"], ("delivered", None))
                    )
                with self._lock:
                    message["status"] = status
                    message["date_updated"] = moment
                    if status == "sent":
                        message["date_sent"] = moment
                        # a Messaging Service picks the sender from its pool when it sends
                        message["from"] = message["from"] or min(self.numbers)
                    if error:
                        message["error_code"] = error
                        message["error_message"] = ERROR_MESSAGES.get(error)
                url = self._status_callback_urls.get(sid)
                if url and self.status_callbacks:
                    self._count("expected", 1)
                    self._callbacks.put((url, {"sid": sid, "status": status, "error": error}))
            return len(due)

    def summary(self, to_counts: bool = True) -> dict[str, Any]:
        """What became of the messages sent so far, without downloading them (a simulation's
        tally): counts by outcome, refusals by code, the longest wait in a queue, and how many
        times each number was sent (or is queued to be sent) a message (``to_counts``, which
        ``to_counts=False`` leaves out; ``to_count_histogram``: how many numbers got 1, 2...)."""
        self.process_due()
        with self._process_lock, self._lock:  # no create nor release under way
            messages = [m for m in self.messages.values() if m["direction"] == "outbound-api"]
            refused = dict(self.refused)
            queue_times = dict(self.queue_times)
        failed: dict[str, int] = {}
        counts: dict[str, int] = {}
        sent = delivered = 0
        first_created = last_sent = 0.0
        longest = 0.0
        for message in messages:
            status, sid = message["status"], message["sid"]
            times = queue_times.get(sid)
            created = times[0] if times else _epoch(message["date_created"])
            first_created = min(first_created, created) if first_created else created
            if status == "failed":
                code = str(message["error_code"])
                failed[code] = failed.get(code, 0) + 1
            if status == "canceled" or (status == "failed" and not message["date_sent"]):
                continue  # never sent, nor to be sent
            counts[message["to"]] = counts.get(message["to"], 0) + 1
            if message["date_sent"]:
                sent += 1
                delivered += status == "delivered"
                left = times[1] if times else _epoch(message["date_sent"])
                last_sent = max(last_sent, left) if last_sent else left
                longest = max(longest, left - created)
        return {
            "now": _iso(self.clock()),
            "created": len(messages),
            "refused": refused,
            "failed": failed,
            "sent": sent,
            "delivered": delivered,
            "max_queue_seconds": round(longest, 3),
            "first_created": _iso(first_created),
            "last_sent": _iso(last_sent),
            "pending_status_changes": self.throughput.pending(),
            "to_count_histogram": {str(n): k for n, k in sorted(Counter(counts.values()).items())},
            **({"to_counts": counts} if to_counts else {}),
        }
