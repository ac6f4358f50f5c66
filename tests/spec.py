"""Checking emulator answers against Twilio's official OpenAPI description (api v2010)."""

from __future__ import annotations

from typing import Any

from openapi_schema_validator import OAS30Validator


def response_schema(spec: dict, path: str, method: str, status: int) -> dict[str, Any]:
    operation = spec["paths"][path][method.lower()]
    responses = operation["responses"]
    assert str(status) in responses, f"{method} {path} documents no {status} answer"
    return responses[str(status)]["content"]["application/json"]["schema"]


def validate(spec: dict, schema: dict, instance: Any) -> list[str]:
    """Every way ``instance`` departs from ``schema`` (the spec's ``#/components`` resolvable)."""
    root = {**schema, "components": spec["components"]}
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in OAS30Validator(root).iter_errors(instance)
    ]


def check_response(spec: dict, path: str, method: str, status: int, body: Any) -> None:
    errors = validate(spec, response_schema(spec, path, method, status), body)
    assert not errors, f"{method} {path} -> {status} departs from Twilio's spec: {errors[:5]}"


def message_schema(spec: dict) -> dict:
    return {"$ref": "#/components/schemas/api.v2010.account.message"}
