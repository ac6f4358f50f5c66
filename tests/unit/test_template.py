"""template.yaml: the contract's logical IDs, handlers that exist, least privilege, Globals, the
connector alone (operations nested, examples a stack of their own), every parameter of each
template described and grouped, and the README's table of what the default stack creates."""

import re
import tomllib

import pytest

from local import bench
from local.lambda_loader import ROOT
from local.template import CONNECTOR, EXAMPLES, OPERATIONS, Resolver, load_template


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
        policies = resource["Properties"].get("Policies", [])
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


#: Functions that never call Twilio: no credentials, and no policy of their own (the campaign
#: function reads and writes S3 through the campaign bucket's policy, which names its role).
NO_TWILIO = {"CampaignFunction"}


def test_each_function_can_read_the_credentials_secret(template):
    for name, resource in functions(template).items():
        kinds = [next(iter(p)) for p in resource["Properties"].get("Policies", [])]
        if name in NO_TWILIO:
            assert kinds == [], f"{name} needs no permission of its own"
        else:
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


def test_the_connector_deploys_alone_with_its_operations_nested(template):
    """template.yaml holds the connector; the operations are its nested application (on by
    default, off with DeployOperations=false), every parameter of it passed from here; the
    examples are a stack of their own, taking the connector's outputs."""
    kinds = {resource["Type"] for resource in template["Resources"].values()}
    assert "AWS::Serverless::StateMachine" not in kinds and "AWS::CloudWatch::Alarm" not in kinds
    operations = template["Resources"]["Operations"]
    assert operations["Type"] == "AWS::Serverless::Application"
    assert operations["Properties"]["Location"] == OPERATIONS
    assert Resolver({}, {}).condition(operations["Condition"])
    assert not Resolver({"DeployOperations": "false"}, {}).condition(operations["Condition"])
    nested = load_template(OPERATIONS)["Parameters"]
    passed = operations["Properties"]["Parameters"]
    assert set(passed) == set(nested), "a parameter of the operations is not passed"
    examples = load_template(EXAMPLES)["Parameters"]
    outputs = template["Outputs"]
    required = {name for name, spec in examples.items() if "Default" not in spec}
    assert required <= set(outputs), "an examples parameter no connector output gives"
    assert {"EventBusName", "EventSource", "TriggerName", "WorkflowMaxConcurrency"} <= set(outputs)


@pytest.mark.parametrize("path", [CONNECTOR, OPERATIONS, EXAMPLES])
def test_every_parameter_is_described_and_in_exactly_one_group(path):
    """`sam deploy --guided` and the console show each parameter with its description, grouped."""
    template = load_template(path)
    interface = template["Metadata"]["AWS::CloudFormation::Interface"]
    grouped = [name for group in interface["ParameterGroups"] for name in group["Parameters"]]
    for name, spec in template["Parameters"].items():
        assert spec.get("Description", "").strip(), f"{name} has no Description"
        assert grouped.count(name) == 1, f"{name} is in {grouped.count(name)} parameter groups"
        assert interface["ParameterLabels"][name]["default"], name
    assert set(grouped) == set(template["Parameters"]), "a group names an unknown parameter"
    assert set(interface["ParameterLabels"]) == set(template["Parameters"])


#: Resources of the default stack the README's table leaves out: plumbing with no cost or use
#: of its own (the wait handle orders the API after the log role; the policy belongs to the topic).
NOT_IN_THE_TABLE = {"AWS::CloudFormation::WaitConditionHandle", "AWS::SNS::TopicPolicy"}
#: The list prices the README's table uses (us-east-1, the date in local/bench.py).
ALARM_MONTH, DASHBOARD_MONTH, SECRET_MONTH = 0.10, 3.00, 0.40


def default_stack(template) -> dict[str, int]:
    """How many resources of each type a deploy with every parameter at its default creates,
    the nested operations' included."""
    resolver = Resolver({}, {})
    counts: dict[str, int] = {}
    for resource in template["Resources"].values():
        if "Condition" in resource and not resolver.condition(resource["Condition"]):
            continue
        counts[resource["Type"]] = counts.get(resource["Type"], 0) + 1
        if resource["Type"] == "AWS::Serverless::Application":
            nested = Resolver(passed_parameters(resource, resolver), {}, OPERATIONS)
            for inner in load_template(OPERATIONS)["Resources"].values():
                if "Condition" in inner and not nested.condition(inner["Condition"]):
                    continue
                counts[inner["Type"]] = counts.get(inner["Type"], 0) + 1
    return counts


def passed_parameters(application, resolver) -> dict[str, str]:
    """The parameters a nested application gets that parameters alone decide (its conditions
    read those), resolved; the names of the stack's resources are left to their defaults."""
    values = {}
    for name, value in application["Properties"]["Parameters"].items():
        try:
            values[name] = str(resolver.resolve(value))
        except KeyError:  # a resource's physical name, known once deployed
            continue
    return values


def stack_table() -> tuple[dict[str, tuple[int, str]], str]:
    """The README's table of what the default stack creates: type -> (count, cost at rest)."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## What the default stack creates", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"`AWS::[\w:]+`", cells[2]):
            assert cells[2].strip("`") not in rows, f"{cells[2]} twice in the table"
            rows[cells[2].strip("`")] = (int(cells[1].replace(",", "")), cells[3])
    return rows, section


def test_the_readme_table_counts_what_the_default_stack_creates(template):
    rows, _ = stack_table()
    created = default_stack(template)
    assert set(rows) == set(created) - NOT_IN_THE_TABLE, "a resource type missing or extra"
    for kind, (count, _) in rows.items():
        assert count == created[kind], f"README: {count} x {kind}, template: {created[kind]}"
    # "one IAM role each": SAM creates a function's role unless the template names one
    assert not [f for f in functions(template).values() if "Role" in f["Properties"]]


def test_the_readme_cost_at_rest_follows_the_counts(template):
    rows, section = stack_table()
    created = default_stack(template)
    alarms = created["AWS::CloudWatch::Alarm"] * ALARM_MONTH
    secrets = created.get("AWS::SecretsManager::Secret", 0) * SECRET_MONTH
    dashboards = created["AWS::CloudWatch::Dashboard"] * DASHBOARD_MONTH
    assert rows["AWS::CloudWatch::Alarm"][1].startswith(f"${alarms:.2f} (${ALARM_MONTH:.2f} each)")
    assert rows["AWS::SecretsManager::Secret"][1] == f"${secrets:.2f}"
    assert rows["AWS::CloudWatch::Dashboard"][1].startswith(f"${dashboards:.2f}")
    low, high = alarms + secrets, alarms + secrets + dashboards
    assert f"**${low:.2f} to ${high:.2f} a month**" in section


def test_the_readme_prices_are_the_benchmarks():
    """The per-1,000-SMS figures use the prices `make bench` uses, with their date."""
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert f"us-east-1 as published on {bench.PRICES_DATE}" in readme
    assert f"${bench.LAMBDA_ARM_GB_SECOND:.10f} a GB-second" in readme
    assert f"${bench.LAMBDA_REQUEST * 1e6:.2f} a million requests" in readme
    assert f"${bench.DYNAMODB_WRITE_UNIT * 1e6:.3f} a million write units" in readme
    assert f"${bench.DYNAMODB_READ_UNIT * 1e6:.3f} a million read units" in readme


def test_samconfig_deploys_the_template_with_the_guided_defaults(template):
    """`sam deploy --guided`, Enter at every prompt: samconfig.toml's answers must let it finish."""
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    deploy = config["default"]["deploy"]["parameters"]
    assert deploy["confirm_changeset"] is False  # no "Deploy this changeset? [y/N]" to refuse
    assert deploy["resolve_s3"] is True
    named = {"RoleName", "UserName", "GroupName", "ManagedPolicyName", "InstanceProfileName"}
    iam = [r for r in template["Resources"].values() if r["Type"].startswith("AWS::IAM::")]
    assert not [r for r in iam if named & set(r.get("Properties", {}))], "CAPABILITY_NAMED_IAM"
    # a nested application (the operations) needs CAPABILITY_AUTO_EXPAND as well
    nested = [r for r in template["Resources"].values() if "Application" in r["Type"]]
    expected = "CAPABILITY_IAM" + (" CAPABILITY_AUTO_EXPAND" if nested else "")
    assert deploy["capabilities"] == expected
    stack = config["default"]["global"]["parameters"]["stack_name"]
    assert f"--stack-name {stack}" in (ROOT / "README.md").read_text()


def test_the_examples_deploy_as_a_stack_of_their_own():
    """examples/samconfig.toml: `cd examples && sam build && sam deploy --guided` makes a second
    stack, named apart from the connector's, creating no named IAM resources either."""
    config = tomllib.loads((ROOT / "examples" / "samconfig.toml").read_text())
    connector = tomllib.loads((ROOT / "samconfig.toml").read_text())
    stack = config["default"]["global"]["parameters"]["stack_name"]
    assert stack != connector["default"]["global"]["parameters"]["stack_name"]
    deploy = config["default"]["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM" and deploy["resolve_s3"] is True
    assert deploy["confirm_changeset"] is False
    assert f"--stack-name {stack}" in (ROOT / "README.md").read_text()
