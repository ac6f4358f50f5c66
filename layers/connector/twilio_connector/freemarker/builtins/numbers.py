"""Built-ins on numbers (Decimal, as FreeMarker's BigDecimal engine)."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from typing import Any

from twilio_connector.freemarker.builtins import builtin
from twilio_connector.freemarker.builtins.common import as_number, no_args
from twilio_connector.freemarker.number_format import computer
from twilio_connector.freemarker.values import FmDate

_HALF = Decimal("0.5")


def _rounder(name: str, fn):  # noqa: ANN001
    def run(r: Any, value: Any, args: Any) -> Any:
        no_args(name, args)
        return fn(as_number(name, value))

    builtin(name)(run)


_rounder("round", lambda x: (x + _HALF).to_integral_value(ROUND_FLOOR))
_rounder("floor", lambda x: x.to_integral_value(ROUND_FLOOR))
_rounder("ceiling", lambda x: x.to_integral_value(ROUND_CEILING))
_rounder("int", lambda x: x.to_integral_value(ROUND_DOWN))
_rounder("abs", abs)


@builtin("long")
def long(r: Any, value: Any, args: Any) -> Any:
    """A number truncated to a whole number, or a date's milliseconds since the epoch."""
    no_args("long", args)
    if isinstance(value, FmDate):
        return Decimal(int(value.instant.timestamp() * 1000))
    return as_number("long", value).to_integral_value(ROUND_DOWN)


@builtin("c")
def c(r: Any, value: Any, args: Any) -> Any:
    no_args("c", args)
    if isinstance(value, bool):
        return "true" if value else "false"
    return computer(as_number("c", value))
