"""Shared layer of the Twilio connector: configuration, Twilio client, rendering, errors.

What an execution environment keeps between invocations (the settings, the credentials, the
boto3 and Twilio clients, the triggers, the factories built from them) is forgotten by
:func:`clear_caches`, as powertools' ``parameters.clear_caches()`` forgets its parameters.
"""

from __future__ import annotations

from collections.abc import Callable

_CLEARS: list[Callable[[], None]] = []


def on_clear_caches[F: Callable[[], None]](clear: F) -> F:
    """Register ``clear`` (a module's own reset of what it caches) with :func:`clear_caches`;
    registered when its module is imported: a module not imported has nothing cached."""
    _CLEARS.append(clear)
    return clear


def clear_caches() -> None:
    """Forget every cached client, the settings, the credentials and the factories built from
    them, as a new execution environment would: the next call reads the environment and the
    secret again. For tests and local tools; a deployed function never needs it."""
    for clear in _CLEARS:
        clear()
