"""Argument and type checks shared by the built-ins."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from twilio_connector.freemarker.errors import FtlRuntimeError
from twilio_connector.freemarker.values import is_sequence, type_name


def arity(name: str, args: list[Any], low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if args is None:
        args = []
    if not low <= len(args) <= high:
        wanted = str(low) if low == high else f"{low} to {high}"
        raise FtlRuntimeError(f"?{name} takes {wanted} argument(s), not {len(args)}")


def no_args(name: str, args: list[Any] | None) -> None:
    if args is not None:
        raise FtlRuntimeError(f"?{name} takes no arguments")


def as_str(name: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    raise FtlRuntimeError(f"?{name} expects a string, not a {type_name(value)}")


def as_int(name: str, value: Any) -> int:
    if isinstance(value, Decimal) and not isinstance(value, bool):
        return int(value)
    raise FtlRuntimeError(f"?{name} expects a number argument, not a {type_name(value)}")


def as_number(name: str, value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    raise FtlRuntimeError(f"?{name} expects a number, not a {type_name(value)}")


def as_seq(name: str, value: Any) -> list[Any]:
    if is_sequence(value):
        return value if isinstance(value, list) else value.items()
    raise FtlRuntimeError(f"?{name} expects a sequence, not a {type_name(value)}")


def utf16_len(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def utf16_units(text: str) -> list[str]:
    """The text as UTF-16 code units (a character outside the BMP becomes two surrogates)."""
    if all(ord(ch) <= 0xFFFF for ch in text):
        return list(text)
    units = []
    for ch in text:
        code = ord(ch)
        if code > 0xFFFF:
            code -= 0x10000
            units += [chr(0xD800 + (code >> 10)), chr(0xDC00 + (code & 0x3FF))]
        else:
            units.append(ch)
    return units


def from_units(units: list[str]) -> str:
    text = "".join(units).encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text.replace("\ufffd", "?")
