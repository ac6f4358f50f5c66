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


def request_schema(spec: dict, path: str, method: str) -> dict[str, Any]:
    operation = spec["paths"][path][method.lower()]
    return operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]


def check_request(spec: dict, path: str, method: str, form: dict[str, list[str]]) -> None:
    """A form a client sent (``parse_qs`` of it) names only parameters the spec documents, and
    their values are what it says (a boolean ``true``/``false``, an integer, a pattern...)."""
    schema = request_schema(spec, path, method)
    properties = schema["properties"]
    unknown = sorted(set(form) - set(properties))
    assert not unknown, f"{method} {path} sends parameters Twilio's spec does not know: {unknown}"
    typed: dict[str, Any] = {}
    for name, values in form.items():
        kind = properties[name].get("type")
        if kind == "array":
            typed[name] = values
        elif kind == "boolean":
            assert values[0] in ("true", "false"), f"{name}={values[0]!r} is not a boolean"
            typed[name] = values[0] == "true"
        elif kind == "integer":
            assert values[0].lstrip("-").isdigit(), f"{name}={values[0]!r} is not an integer"
            typed[name] = int(values[0])
        else:
            typed[name] = values[0]
    errors = validate(spec, schema, typed)
    assert not errors, f"{method} {path}: the request departs from Twilio's spec: {errors[:5]}"
