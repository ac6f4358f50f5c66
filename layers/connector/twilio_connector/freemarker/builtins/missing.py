"""Built-ins for missing values (``x?has_content``, ``x?exists``, ``x?if_exists``,
``x?default(y)``): they look at a value that may be missing, so they evaluate it themselves."""

from __future__ import annotations

from typing import Any

from twilio_connector.freemarker import tree as t
from twilio_connector.freemarker.builtins import builtin
from twilio_connector.freemarker.errors import FtlMissing
from twilio_connector.freemarker.values import Range


@builtin("has_content", lazy=True)
def has_content_builtin(r: Any, expr: t.BuiltIn) -> Any:
    try:
        value = r.maybe(expr.target)
    except FtlMissing:
        value = None
    return has_content(value)


@builtin("exists", lazy=True)
def exists(r: Any, expr: t.BuiltIn) -> Any:
    return r.maybe(expr.target) is not None


@builtin("if_exists", lazy=True)
def if_exists(r: Any, expr: t.BuiltIn) -> Any:
    value = r.maybe(expr.target)
    return "" if value is None else value


@builtin("default", lazy=True)
def default(r: Any, expr: t.BuiltIn) -> Any:
    value = r.maybe(expr.target)
    if value is not None:
        return value
    for arg in expr.args or []:
        value = r.maybe(arg)
        if value is not None:
            return value
    return None


def has_content(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str | list | dict):
        return len(value) > 0
    if isinstance(value, Range):
        return len(value) > 0
    return True
