"""Template values: what the metadata becomes (str, Decimal, bool, list, dict), dates, ranges,
macros and lambdas, and FreeMarker's type names for error messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from twilio_connector.freemarker.errors import FtlLimit

MAX_SEQUENCE_ITEMS = 10_000
MAX_VALUE_CHARS = 20_000


def capped(text: str) -> str:
    """``text``, unless it is over MAX_VALUE_CHARS (FtlLimit)."""
    if len(text) > MAX_VALUE_CHARS:
        raise FtlLimit(f"a value of more than {MAX_VALUE_CHARS} characters")
    return text


DATE, TIME, DATETIME, UNKNOWN = "date", "time", "datetime", "unknown"


@dataclass(frozen=True)
class FmDate:
    """A date-like value: an aware UTC instant and what it holds (date, time or both)."""

    instant: datetime
    kind: str


@dataclass(frozen=True)
class Range:
    """``a..b``, ``a..<b``, ``a..*n`` and ``a..`` (right-unbounded, ``stop`` None)."""

    start: int
    stop: int | None  # exclusive
    step: int
    limited: bool = False  # a..*n: slicing stops at the end of the sliced value

    def __len__(self) -> int:
        if self.stop is None:
            return 2**31 - 1
        return max(0, (self.stop - self.start) * self.step)

    def items(self) -> list[Decimal]:
        if self.stop is None or len(self) > MAX_SEQUENCE_ITEMS:
            raise FtlLimit(f"a range of more than {MAX_SEQUENCE_ITEMS} items")
        return [Decimal(self.start + k * self.step) for k in range(len(self))]


class MacroValue:
    """A macro or function defined by the template, with the namespace it was defined in."""

    __slots__ = ("namespace", "node")

    def __init__(self, node: Any, namespace: dict[str, Any]) -> None:  # node: tree.Macro
        self.node, self.namespace = node, namespace


class LambdaValue:
    """``x -> expression``, passed to ``?filter``, ``?map`` and the like."""

    __slots__ = ("node",)

    def __init__(self, node: Any) -> None:  # node: tree.Lambda
        self.node = node


def from_metadata(value: Any) -> Any:
    """Metadata (parsed JSON) as template values: numbers keep their decimal value, null is
    missing. Floats come from a JSON parser: their shortest repr is the decimal that was written."""
    if isinstance(value, bool) or value is None or isinstance(value, str | Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {str(k): from_metadata(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [from_metadata(v) for v in value]
    return None


def is_sequence(value: Any) -> bool:
    return isinstance(value, list | Range)


def type_name(value: Any) -> str:
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, FmDate):
        return "date"
    if is_sequence(value):
        return "sequence"
    if isinstance(value, dict):
        return "hash"
    if isinstance(value, MacroValue):
        return "function" if value.node.is_function else "macro"
    return "method"
