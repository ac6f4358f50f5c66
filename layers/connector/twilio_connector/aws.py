"""boto3 clients, built on first use (never at import) and reused for the environment's life."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def aws_client(service: str) -> Any:
    """A boto3 client; ``AWS_ENDPOINT_URL`` (moto when offline) is honoured by boto3 itself."""
    import boto3

    return boto3.client(service)


def clear_clients() -> None:
    aws_client.cache_clear()
