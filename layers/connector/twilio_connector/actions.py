"""The decorator every action handler wears: catalogued errors out, and ``failOnError: false``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from twilio_connector import inputs
from twilio_connector.deadline import deadline_from
from twilio_connector.errors import UNKNOWN_ERROR, ConnectorError
from twilio_connector.observability import logger

Handler = Callable[[Any, Any], dict[str, Any]]


def connector_action(
    *, fields: inputs.Fields, tolerant_flag: str | None = None
) -> Callable[[Handler], Handler]:
    """Let only catalogued errors leave the handler, and say which fields the action ignored.

    The event's fields are checked against ``fields`` first (:func:`inputs.check_fields`): a
    near miss of a known name is ``INVALID_INPUT``; other unknown fields are listed in the
    result as ``ignoredFields`` and logged at WARNING (names only), so a state machine that
    passes its whole state as the payload keeps working.

    With ``tolerant_flag`` (SEND_SMS's ``failOnError``) set to false in the event, nothing is
    raised: the result is ``{"twilioResult": ..., "twilioError": null | [errors]}`` (Alfresco's
    "always successful" behaviour).
    """

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def wrapper(event: Any, context: Any) -> dict[str, Any]:
            tolerant = _is_tolerant(event, tolerant_flag)
            try:
                ignored = _ignored(event, fields)
                with deadline_from(context):
                    result = handler(event, context)
                if ignored:
                    result = {**result, "ignoredFields": ignored}
            except ConnectorError as error:
                logger.warning("Action failed", extra={"code": error.code})
                if tolerant:
                    return {
                        "twilioResult": error.partial_result,
                        "twilioError": error.errors or [error.to_dict()],
                    }
                raise
            except Exception as exc:
                logger.exception("Unexpected error", extra={"code": "UNKNOWN_ERROR"})
                error = UNKNOWN_ERROR(f"Unexpected {type(exc).__name__}; see the function's log")
                if tolerant:
                    return {"twilioResult": None, "twilioError": [error.to_dict()]}
                raise error from None
            return {"twilioResult": result, "twilioError": None} if tolerant else result

        return wrapper

    return decorate


def _ignored(event: Any, fields: inputs.Fields) -> list[str]:
    """The unknown fields to list (logged now, whether or not the action then succeeds)."""
    ignored = inputs.check_fields(event, fields)
    if not ignored:
        return []
    listed = ignored[: inputs.MAX_IGNORED_LISTED]
    logger.warning(
        "Input fields ignored: not inputs of this action",
        extra={"ignoredFields": listed, "ignoredCount": len(ignored)},
    )
    return listed


def _is_tolerant(event: Any, flag: str | None) -> bool:
    if flag is None or not isinstance(event, dict):
        return False
    try:
        return not inputs.flag(event, flag, default=True)
    except ConnectorError:
        return False  # an unreadable flag fails loudly, with the input error it raises later
