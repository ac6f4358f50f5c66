"""template.yaml: the contract's logical IDs, handlers that exist, least privilege, Globals."""

import pytest

from local.lambda_loader import ROOT
from local.template import load_template


@pytest.fixture(scope="module")
def template():
    return load_template()


def functions(template):
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


#: Step Functions' task-token callbacks act on tokens, not resources: IAM takes only "*".
UNSCOPED_ACTIONS = {"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"}


def test_functions_exist_with_their_handlers(template):
    for name, resource in functions(template).items():
        props = resource["Properties"]
        assert props["Handler"] == "app.lambda_handler"
        assert (ROOT / props["CodeUri"] / "app.py").exists(), name
    assert "SendSmsFunction" in functions(template)


def test_layer_is_built_for_the_runtime(template):
    layer = template["Resources"]["ConnectorLayer"]
    runtime = template["Globals"]["Function"]["Runtime"]
    assert layer["Metadata"]["BuildMethod"] == runtime == "python3.13"
    assert (ROOT / layer["Properties"]["ContentUri"] / "twilio_connector" / "__init__.py").exists()
    assert (ROOT / layer["Properties"]["ContentUri"] / "requirements.txt").exists()


def test_every_policy_is_scoped_to_named_resources(template):
    for name, resource in functions(template).items():
        policies = resource["Properties"]["Policies"]
        for policy in policies:
            assert isinstance(policy, dict) and len(policy) == 1, name
            [(kind, scope)] = policy.items()
            if kind == "Statement":  # inline: explicit actions on one resource each
                for statement in scope:
                    assert "*" not in str(statement["Action"]) and statement["Resource"], name
                    if set(statement["Action"]) <= UNSCOPED_ACTIONS:
                        continue  # these take no resource-level permission in IAM
                    assert "*" not in str(statement["Resource"]), name
                continue
            assert kind.endswith("Policy"), f"{name}: {kind} is not a scoped SAM policy template"
            assert "*" not in str(scope), f"{name}: {kind} is not scoped to one resource"


def test_each_function_can_read_the_credentials_secret(template):
    for name, resource in functions(template).items():
        kinds = [next(iter(p)) for p in resource["Properties"]["Policies"]]
        assert "AWSSecretsManagerGetSecretValuePolicy" in kinds, name


def test_each_function_has_a_log_group_with_retention(template):
    groups = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Logs::LogGroup"
    ]
    for name in functions(template):
        assert any(name in str(g["LogGroupName"]) for g in groups), name
    assert all(g["RetentionInDays"] == {"Ref": "LogRetentionDays"} for g in groups)


def test_no_secret_is_a_plain_parameter_or_variable(template):
    assert not [name for name in template["Parameters"] if "token" in name.lower()]
    for name, resource in {"Globals": template["Globals"], **functions(template)}.items():
        props = resource.get("Function") or resource["Properties"]
        variables = props.get("Environment", {}).get("Variables", {})
        leaked = {"TWILIO_TOKEN", "TWILIO_ACCOUNT", "TWILIO_API_SECRET"} & set(variables)
        assert not leaked, f"{name} passes {leaked} in plain environment variables"
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
    assert env["TWILIO_SECRET_ID"]  # the functions read the secret by its id


def test_the_webhook_api_is_throttled(template):
    api = template["Resources"]["InboundApi"]["Properties"]
    [setting] = api["MethodSettings"]
    assert setting["ResourcePath"] == "/*" and setting["HttpMethod"] == "*"
    assert setting["ThrottlingRateLimit"] == {"Ref": "ApiRateLimit"}
    assert setting["ThrottlingBurstLimit"] == {"Ref": "ApiBurstLimit"}


def test_every_parameter_is_described_and_in_exactly_one_group(template):
    """`sam deploy --guided` and the console show each parameter with its description, grouped."""
    interface = template["Metadata"]["AWS::CloudFormation::Interface"]
    grouped = [name for group in interface["ParameterGroups"] for name in group["Parameters"]]
    for name, spec in template["Parameters"].items():
        assert spec.get("Description", "").strip(), f"{name} has no Description"
        assert grouped.count(name) == 1, f"{name} is in {grouped.count(name)} parameter groups"
        assert interface["ParameterLabels"][name]["default"], name
    assert set(grouped) == set(template["Parameters"]), "a group names an unknown parameter"
    assert set(interface["ParameterLabels"]) == set(template["Parameters"])
