"""Built-ins on dates, and those that make a date from an ISO 8601 string or a pattern."""

from __future__ import annotations

from typing import Any

from twilio_connector.freemarker import date_format
from twilio_connector.freemarker.builtins import builtin
from twilio_connector.freemarker.builtins.common import arity, no_args
from twilio_connector.freemarker.errors import FtlRuntimeError
from twilio_connector.freemarker.values import DATE, DATETIME, TIME, FmDate, type_name


def _convert(kind: str):
    def run(r: Any, value: Any, args: Any) -> Any:
        if isinstance(value, FmDate):
            no_args(kind, args)
            return FmDate(value.instant, kind)
        if isinstance(value, str):
            if args is None:
                return date_format.parse_pattern(
                    value, r.settings[kind + "_format"] or "medium", kind, r.settings["time_zone"]
                )
            arity(kind, args, 1)
            return date_format.parse_pattern(
                value, r.to_text(args[0], "pattern"), kind, r.settings["time_zone"]
            )
        raise FtlRuntimeError(f"?{kind} expects a date or a string, not a {type_name(value)}")

    builtin(kind)(run)


for _kind in (DATE, TIME, DATETIME):
    _convert(_kind)


def _iso_parser(kind: str):
    def run(r: Any, value: Any, args: Any) -> Any:
        no_args(kind + ".iso", args)
        if not isinstance(value, str):
            raise FtlRuntimeError(f"?{kind}.iso expects a string, not a {type_name(value)}")
        return date_format.parse_iso(value, kind, r.settings["time_zone"])

    builtin(kind + ".iso", kind + ".xs")(run)


for _kind in (DATE, TIME, DATETIME):
    _iso_parser(_kind)


def _date(name: str, value: Any) -> FmDate:
    if isinstance(value, FmDate):
        return value
    raise FtlRuntimeError(f"?{name} expects a date, not a {type_name(value)}")


@builtin("iso_utc")
def iso_utc(r: Any, value: Any, args: Any) -> Any:
    return date_format.iso(_date("iso_utc", value), "UTC", utc=True, millis=False)


@builtin("iso")
def iso(r: Any, value: Any, args: Any) -> Any:
    arity("iso", args, 1)
    return date_format.iso(
        _date("iso", value), r.to_text(args[0], "time zone"), utc=False, millis=False
    )
