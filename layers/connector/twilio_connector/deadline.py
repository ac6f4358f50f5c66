"""The invocation's deadline: no Twilio or AWS call of an invocation may outlive it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from twilio_connector.config import get_settings

#: When the current invocation must be done with its calls (monotonic seconds), set per
#: invocation from the Lambda context, less ``SAFETY_MARGIN_SECONDS``.
DEADLINE: ContextVar[float | None] = ContextVar("deadline", default=None)
#: Below this many seconds left, a call is not started.
MIN_CALL_SECONDS = 0.5


def time_left() -> float:
    deadline = DEADLINE.get()
    return float("inf") if deadline is None else deadline - time.monotonic()


@contextlib.contextmanager
def deadline_from(context: Any) -> Iterator[None]:
    """Bound every call of this invocation by the Lambda's remaining time."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        yield
        return
    margin = get_settings().safety_margin_seconds
    token = DEADLINE.set(time.monotonic() + remaining() / 1000 - margin)
    try:
        yield
    finally:
        DEADLINE.reset(token)
