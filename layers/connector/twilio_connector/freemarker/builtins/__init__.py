"""Built-ins (``x?name``), grouped by the type of value they apply to, every one registered
with :func:`builtin`. ``REGISTRY`` maps a name to its function ``(renderer, target, args) ->
value``, called with the target and the arguments evaluated; ``LAZY`` maps a name to its
function ``(renderer, expr) -> value`` for the built-ins that evaluate their target or arguments
themselves: those that look at missing values (``?default``), read a loop's state (``?index``),
evaluate arguments only as needed (``?then``) or take lambdas (``?filter``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

BuiltinFn = Callable[[Any, Any, list[Any]], Any]
LazyFn = Callable[[Any, Any], Any]
REGISTRY: dict[str, BuiltinFn] = {}
LAZY: dict[str, LazyFn] = {}

#: FreeMarker built-ins this engine refuses (TEMPLATE_SYNTAX_ERROR naming them).
REFUSED = {
    "eval", "eval_json", "new", "api", "has_api", "interpret", "no_esc", "esc", "markup_string",
    "absolute_template_name", "get_optional_template", "children", "parent", "root",
    "ancestors", "node_name", "node_type", "node_namespace", "byte", "short", "float",
    "double", "number_to_date", "number_to_time", "number_to_datetime", "date_if_unknown",
    "time_if_unknown", "datetime_if_unknown", "is_transform", "is_directive", "is_macro",
    "is_method", "is_node", "is_markup_output", "is_collection", "is_collection_ex",
    "is_indexable", "is_hash_ex", "rtf", "web_safe", "lower_abc",
    "upper_abc", "is_infinite", "is_nan", "namespace", "with_args", "with_args_last",
    "iso_local", "iso_nz", "iso_ms", "iso_m", "iso_h", "iso_utc_ms", "iso_utc_m", "iso_utc_h",
    "iso_utc_nz", "iso_local_nz", "iso_local_ms", "iso_local_m", "iso_local_h", "string.iso_m",
    "cn", "c_lower_case", "c_upper_case", "blank_to_null", "empty_to_null", "trim_to_null",
    "sequence", "groups",
}  # fmt: skip


def builtin(*names: str, lazy: bool = False) -> Callable[[Any], Any]:
    """Register a built-in under ``names``: in ``LAZY`` when ``lazy`` (it gets the unevaluated
    ``t.BuiltIn`` expression), else in ``REGISTRY``."""
    registry: dict[str, Any] = LAZY if lazy else REGISTRY

    def register(fn: Any) -> Any:
        for name in names:
            registry[name] = fn
        return fn

    return register


@cache
def known() -> frozenset[str]:
    """Every built-in name the engine runs."""
    load()
    return frozenset(REGISTRY) | frozenset(LAZY)


@cache
def load() -> None:
    """Import every module of built-ins: each registers its own."""
    from twilio_connector.freemarker.builtins import (  # noqa: F401 - they register themselves
        dates,
        hashes,
        loops,
        misc,
        missing,
        numbers,
        sequences,
        strings,
        types,
    )
