"""moto's DynamoDB at closer to DynamoDB's cost (local only, never deployed).

moto 5.2.5 backs up every table a ``TransactWriteItems`` touches with a deep copy, once per
action, to roll a cancelled transaction back: a transaction of 100 actions costs 100 copies of
the whole table (1.3 s with 1,200 items, growing with the table), which DynamoDB does not. The
send ledger claims recipients in such transactions, so a 1,000-recipient send spent most of its
time in moto's copies. :func:`install` keeps moto's own transaction code and semantics and backs
up only the items the transaction names; moto's whole-table copy becomes the table itself.

moto also parses a condition expression anew for every item it is checked on, three times for
a put in a transaction: half of its time in a bulk send. :func:`install` keeps parsed conditions, by
their text, names and values (the parse is a pure function of the three; the parsed condition is
evaluated against each item without being changed).

Installed by the tests (``tests/conftest.py``), ``local.offline``, ``local.moto_sfn`` and ``make
bench``'s moto (``python -m local.moto_dynamodb -H 127.0.0.1 -p PORT``: moto's server with it).
"""

from __future__ import annotations

import copy
import json
import os
import sys
from typing import Any

from local.moto_version import check_moto_version


class _TablesNotCopied:
    """``copy`` as moto's DynamoDB backend sees it: a table is not copied, anything else is."""

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def install() -> None:
    """Back up only the items a transaction names (idempotent)."""
    check_moto_version("local.moto_dynamodb")
    from moto.dynamodb import models

    backend = models.DynamoDBBackend
    if getattr(backend.transact_write_items, "items_backed_up", False):
        return
    original = backend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backup = [_item_backup(self, action) for action in transact_items]
        try:
            original(self, transact_items)
        except Exception:
            for saved in reversed(backup):
                if saved is not None:
                    _restore(*saved)
            raise

    transact_write_items.items_backed_up = True  # type: ignore[attr-defined]
    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    models.copy = _TablesNotCopied  # type: ignore[assignment]

    from moto.dynamodb import comparisons, responses

    parser = _parsed_once(comparisons.create_condition_expression_parser)
    for module in (comparisons, models, responses):
        module.create_condition_expression_parser = parser  # type: ignore[attr-defined]


class _Parsed:
    """A condition expression's parser that has parsed: ``parse()`` gives its result again."""

    def __init__(self, parser: Any) -> None:
        self._parser, self._parsed = parser, parser.parse()

    def parse(self) -> Any:
        return self._parsed

    def __getattr__(self, name: str) -> Any:  # expr_attr_names_found, ...
        return getattr(self._parser, name)


def _parsed_once(create: Any) -> Any:
    """moto's ``create_condition_expression_parser``, each (expression, names, values) parsed
    once (an expression that does not parse raises each time, as before)."""
    from functools import lru_cache

    @lru_cache(maxsize=4096)
    def cached(expression: str | None, names: str, values: str) -> _Parsed:
        return _Parsed(create(expression, json.loads(names), json.loads(values)))

    def create_condition_expression_parser(
        expression: str | None, names: dict | None, values: dict | None
    ) -> _Parsed:
        return cached(
            expression, json.dumps(names, sort_keys=True), json.dumps(values, sort_keys=True)
        )

    return create_condition_expression_parser


def _item_backup(backend: Any, action: dict[str, Any]) -> tuple[Any, ...] | None:
    """(table, hash key, range key, a copy of the item or None) of one action's item."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    _, operation = next(iter(action.items()))
    table = backend.tables.get(operation.get("TableName"))
    if table is None:
        return None
    key = operation.get("Item") if "Item" in operation else operation.get("Key")
    if not key or table.hash_key_attr not in key:
        return None  # moto refuses the action itself
    hash_key = DynamoType(key[table.hash_key_attr])
    range_key = None
    if table.range_key_attr is not None:
        if table.range_key_attr not in key:
            return None
        range_key = DynamoType(key[table.range_key_attr])
    item = table.get_item(hash_key, range_key)
    return table, hash_key, range_key, copy.deepcopy(item)


def _restore(table: Any, hash_key: Any, range_key: Any, item: Any) -> None:
    if range_key is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
    elif item is None:
        table.items.get(hash_key, {}).pop(range_key, None)
    else:
        table.items[hash_key][range_key] = item


def serve(argv: list[str]) -> None:
    """moto's server app, served as DynamoDB serves: on HTTP/1.1 connections kept open, which
    botocore's pool reuses. moto's own server (werkzeug's) closes every connection after its
    answer, so each call of the function under ``make bench`` would pay for a new connection
    that AWS does not cost it. Served by waitress (threads, keep-alive, TCP_NODELAY)."""
    import argparse

    import waitress
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    parser = argparse.ArgumentParser(description="moto, DynamoDB at its cost, kept-open HTTP")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    waitress.serve(app, host=args.host, port=args.port, threads=16, _quiet=True)


if __name__ == "__main__":
    install()
    serve(sys.argv[1:])
