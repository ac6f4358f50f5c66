"""Reading the SAM templates with their CloudFormation tags (``!Ref``, ``!GetAtt``, ``!Sub``, ...),
and resolving what a function's environment and a state machine's definition hold once deployed,
for running them offline. Three templates: the connector (``template.yaml``: the functions),
its nested operations application, and the examples stack (the state machines), which takes the
connector's outputs as its parameters (``examples_parameters``)."""

from __future__ import annotations

import re
import shlex
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from local.lambda_loader import ROOT


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node, deep=True)}
    return {suffix: loader.construct_mapping(node, deep=True)}


_CfnLoader.add_multi_constructor("!", _tag)


#: The templates, relative to the repository's root.
CONNECTOR = "template.yaml"
OPERATIONS = "operations/template.yaml"
EXAMPLES = "examples/template.yaml"


def load_template(path: str = CONNECTOR) -> dict:
    return yaml.load((ROOT / path).read_text(), Loader=_CfnLoader)  # noqa: S506


@cache
def _template(path: str = CONNECTOR) -> dict:
    return load_template(path)


PSEUDO_PARAMETERS = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "twilio-connector",
}


class Resolver:
    """CloudFormation's intrinsic functions over one template (the connector's by default), for
    one set of parameter values (the template's defaults, overridden) and the physical IDs of the
    resources a value names."""

    def __init__(
        self, parameters: dict[str, str], resources: dict[str, str], template: str = CONNECTOR
    ) -> None:
        self.template = template
        self.parameters = {
            name: str(spec.get("Default", ""))
            for name, spec in _template(template)["Parameters"].items()
        }
        unknown = set(parameters) - set(self.parameters)
        if unknown:
            raise KeyError(f"{template} has no parameter {sorted(unknown)}")
        self.parameters.update(parameters)
        self.resources = resources
        self.conditions = _template(template).get("Conditions", {})

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {key: self.resolve(item) for key, item in value.items()}
        ((function, argument),) = value.items()
        if function == "Ref":
            return self.ref(argument)
        if function == "If":
            condition, when_true, when_false = argument
            return self.resolve(when_true if self.condition(condition) else when_false)
        if function == "Sub":
            return self.sub(argument)
        if function == "GetAtt":
            return self.ref(argument if isinstance(argument, str) else ".".join(argument))
        if function == "FindInMap":
            table, key, attribute = (str(self.resolve(item)) for item in argument)
            return _template(self.template)["Mappings"][table][key][attribute]
        return {function: self.resolve(argument)}

    def ref(self, name: str) -> str:
        for names in (self.parameters, PSEUDO_PARAMETERS, self.resources):
            if name in names:
                return names[name]
        raise KeyError(f"no value offline for {name}: name its physical ID (or Name.Attribute)")

    def sub(self, argument: str | list) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        variables = {key: self.resolve(item) for key, item in variables.items()}
        return re.sub(
            r"\$\{([^}!]+)\}",
            lambda match: str(variables.get(match.group(1)) or self.ref(match.group(1))),
            text,
        )

    def condition(self, name: str) -> bool:
        return self._true(self.conditions[name])

    def _true(self, expression: dict) -> bool:
        ((function, argument),) = expression.items()
        if function == "Equals":
            left, right = (self.resolve(item) for item in argument)
            return str(left) == str(right)
        if function == "Not":
            return not self._true(argument[0])
        if function == "Condition":
            return self.condition(argument)
        if function == "And":
            return all(self._true(item) for item in argument)
        if function == "Or":
            return any(self._true(item) for item in argument)
        raise ValueError(f"condition function {function} is not supported offline")


def function_properties(logical_id: str) -> dict[str, Any]:
    """A function's properties, with the template's Globals under them (as SAM merges them)."""
    resources = _template()["Resources"]
    resource = resources.get(logical_id)
    if resource is None or resource["Type"] != "AWS::Serverless::Function":
        functions = sorted(
            name for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"
        )
        raise KeyError(f"template.yaml has no function {logical_id!r}; it has {functions}")
    globals_ = _template().get("Globals", {}).get("Function", {})
    properties = {**globals_, **resource["Properties"]}
    properties["Environment"] = {
        "Variables": {
            **globals_.get("Environment", {}).get("Variables", {}),
            **resource["Properties"].get("Environment", {}).get("Variables", {}),
        }
    }
    return properties


def function_names() -> list[str]:
    resources = _template()["Resources"]
    return [name for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"]


def template_environment(logical_id: str, resolver: Resolver) -> dict[str, str]:
    """The environment variables a deployed function gets, resolved."""
    variables = function_properties(logical_id)["Environment"]["Variables"]
    return {name: str(resolver.resolve(value)) for name, value in variables.items()}


def state_machine_names(template: str = EXAMPLES) -> list[str]:
    resources = _template(template)["Resources"]
    return [name for name, r in resources.items() if r["Type"] == "AWS::Serverless::StateMachine"]


def definition_path(logical_id: str, template: str = EXAMPLES) -> Path:
    """A state machine's ``DefinitionUri``, relative to its template's folder as SAM reads it."""
    properties = _template(template)["Resources"][logical_id]["Properties"]
    return (ROOT / template).parent / properties["DefinitionUri"]


def state_machine_definition(logical_id: str, resolver: Resolver) -> str:
    """A state machine's ASL as deployed: its ``DefinitionUri`` file with the template's
    ``DefinitionSubstitutions`` put in (plain text replacement, as CloudFormation does), the
    resolver's template (the examples') holding it."""
    properties = _template(resolver.template)["Resources"][logical_id]["Properties"]
    text = definition_path(logical_id, resolver.template).read_text()
    for name, value in resolver.resolve(properties.get("DefinitionSubstitutions", {})).items():
        text = text.replace("${" + name + "}", str(value))
    return text


def examples_parameters(connector: Resolver) -> dict[str, str]:
    """The examples stack's parameters that the connector stack's outputs of the same names give
    (function ARNs, bus, event source, trigger, concurrency), as a user passes them with ``sam
    deploy --parameter-overrides``: resolved for the connector's parameters and resources."""
    outputs = _template(connector.template)["Outputs"]
    return {
        name: str(connector.resolve(outputs[name]["Value"]))
        for name in _template(EXAMPLES)["Parameters"]
        if name in outputs
    }


def parse_parameter_overrides(text: str) -> dict[str, str]:
    """``sam deploy --parameter-overrides``' syntax: ``Name=Value`` pairs separated by spaces, a
    value with spaces quoted as a shell would (``SmsTriggers='[{"name": "x", ...}]'``), or
    ``ParameterKey=Name,ParameterValue=Value``; checked as CloudFormation checks them."""
    values: dict[str, str] = {}
    try:
        tokens = shlex.split(text or "")
    except ValueError as error:
        raise ValueError(f"parameter overrides: {error} in {text!r}") from None
    for token in tokens:
        long_form = re.fullmatch(r"ParameterKey=([^,]+),ParameterValue=(.*)", token, re.S)
        name, equals, value = (
            (long_form[1], "=", long_form[2]) if long_form else token.partition("=")
        )
        if not equals or not name:
            raise ValueError(f"parameter overrides: {token!r} is not Name=Value")
        values[name] = value
    check_parameters(values)
    return values


def check_parameters(values: dict[str, str]) -> None:
    """Refuse what CloudFormation refuses: an unknown parameter, a value outside its
    ``AllowedValues`` / ``AllowedPattern`` / ``Min``/``MaxValue`` / ``Min``/``MaxLength``."""
    declared = _template()["Parameters"]
    for name, value in values.items():
        spec = declared.get(name)
        if spec is None:
            raise ValueError(
                f"template.yaml has no parameter {name!r}; it has {', '.join(sorted(declared))}"
            )
        problem = _parameter_problem(spec, value)
        if problem:
            raise ValueError(f"Parameter '{name}' {problem}")


def _parameter_problem(spec: dict[str, Any], value: str) -> str | None:
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [str(item) for item in allowed]:
        return f"must be one of AllowedValues: {', '.join(str(item) for item in allowed)}"
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            return "must be a number"
        if "MinValue" in spec and number < float(spec["MinValue"]):
            return f"must be a number not less than {spec['MinValue']}"
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            return f"must be a number not greater than {spec['MaxValue']}"
        return None
    pattern = spec.get("AllowedPattern")
    if pattern is not None and not re.fullmatch(pattern, value, re.S):
        return f"must match pattern {pattern}"
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        return f"must contain at least {spec['MinLength']} characters"
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        return f"must contain at most {spec['MaxLength']} characters"
    return None
