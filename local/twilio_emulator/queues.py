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
import re
import threading
from dataclasses import dataclass
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
