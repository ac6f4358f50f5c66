"""Built-ins on hashes."""

from __future__ import annotations

from typing import Any

from twilio_connector.freemarker.builtins import builtin
from twilio_connector.freemarker.builtins.common import no_args
from twilio_connector.freemarker.errors import FtlRuntimeError
from twilio_connector.freemarker.values import type_name


def _hash(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    raise FtlRuntimeError(f"?{name} expects a hash, not a {type_name(value)}")


@builtin("keys")
def keys(r: Any, value: Any, args: Any) -> Any:
    no_args("keys", args)
    return list(_hash("keys", value))


@builtin("values")
def values(r: Any, value: Any, args: Any) -> Any:
    no_args("values", args)
    return list(_hash("values", value).values())
