"""The example state machines (examples/template.yaml): valid ASL, real error codes, substitutions
the template provides. (They are executed, in moto's interpreter, in
tests/integration/test_executed_workflows.py.)"""

import json
import re

import pytest

from local.lambda_loader import ROOT
from local.template import (
    EXAMPLES,
    Resolver,
    definition_path,
    examples_parameters,
    load_template,
    state_machine_definition,
)
from twilio_connector.errors import CATALOGUE

ASL = sorted((ROOT / "examples" / "statemachines").glob("*.asl.json"))
RESOURCES = load_template(EXAMPLES)["Resources"]
MACHINES = sorted(k for k, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::StateMachine")
SEND_SMS_ARN = "arn:aws:lambda:us-east-1:123456789012:function:send"
RESOLVER = Resolver(
    {
        "SendSmsFunctionArn": SEND_SMS_ARN,
        "CancelSmsFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:cancel",
        "VerifyStartFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:verify-start",
        "VerifyCheckFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:verify-check",
    },
    {"ExampleAppointmentRemindersTable": "reminders"},
    EXAMPLES,
)


#: The connector's functions, deployed: what its outputs name.
FUNCTION_ARNS = {
    key: value
    for name, resource in load_template()["Resources"].items()
    if resource["Type"] == "AWS::Serverless::Function"
    for key, value in (
        (f"{name}.Arn", f"arn:aws:lambda:us-east-1:123456789012:function:{name}"),
        (f"{name}Role.Arn", f"arn:aws:iam::123456789012:role/{name}Role"),
    )
}


def definition(logical_id: str) -> dict:
    return json.loads(state_machine_definition(logical_id, RESOLVER))


def states(definition: dict):
    for name, state in definition["States"].items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from states(branch)
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from states(processor)


def scopes(definition: dict):
    """Each ``States`` of a definition: its own, each Parallel branch's, each Map's processor's
    (a ``Next`` names a state of its own scope)."""
    yield definition
    for state in definition["States"].values():
        for branch in state.get("Branches", []):
            yield from scopes(branch)
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from scopes(processor)


@pytest.mark.parametrize("machine", MACHINES)
def test_definition_is_valid_asl(machine):
    for scope in scopes(definition(machine)):
        assert scope["StartAt"] in scope["States"], f"{machine}: StartAt {scope['StartAt']}"
        for name, state in scope["States"].items():
            targets = [state[key] for key in ("Next", "Default") if key in state]
            targets += [choice["Next"] for choice in state.get("Choices", [])]
            targets += [catcher["Next"] for catcher in state.get("Catch", [])]
            for target in targets:
                assert target in scope["States"], f"{machine}: {name} -> {target}"
            assert (
                state.get("End")
                or "Next" in state
                or state["Type"] in ("Succeed", "Fail", "Choice")
            ), f"{machine}: {name} neither ends nor goes on"


@pytest.mark.parametrize("machine", MACHINES)
def test_every_error_equals_names_a_real_code(machine):
    for name, state in states(definition(machine)):
        for rule in state.get("Retry", []) + state.get("Catch", []):
            for code in rule["ErrorEquals"]:
                assert code in CATALOGUE or code.startswith(
                    ("States.", "Lambda.", "DynamoDB.", "EventBridge.")
                ), f"{machine}: {name} names {code}, which no function raises"


@pytest.mark.parametrize("machine", MACHINES)
def test_substitutions_are_exactly_the_templates(machine):
    """Every ``${...}`` in a definition is one the template fills in, and each is used: message
    texts written in ASL must not hold a ``${name}`` a substitution would eat."""
    props = RESOURCES[machine]["Properties"]
    used = set(re.findall(r"\$\{(\w+)\}", definition_path(machine).read_text()))
    assert used == set(props["DefinitionSubstitutions"]), machine


def test_the_template_deploys_each_example():
    assert {definition_path(m) for m in MACHINES} == set(ASL)
    assert not load_template().get("Outputs", {}).keys() & set(
        load_template(EXAMPLES)["Outputs"]
    ), "the connector stack deploys no example"


def test_the_concurrency_budget_is_never_exceeded():
    """One SEND_SMS call's concurrent sends plus the campaign's (its batches in flight together,
    each SEND_SMS call held to its share by ``sendConcurrency``) stay within the account's
    budget, for every budget the template allows: the examples stack takes its share from the
    connector's output WorkflowMaxConcurrency."""
    template = load_template()
    allowed = template["Parameters"]["TwilioConcurrency"]["AllowedValues"]
    for budget in allowed:
        resolver = Resolver({"TwilioConcurrency": str(budget)}, FUNCTION_ARNS)
        examples = Resolver(examples_parameters(resolver), {}, EXAMPLES)
        campaign = json.loads(state_machine_definition("ExampleCampaignStateMachine", examples))
        batches = campaign["States"]["SendEveryBatch"]["MaxConcurrency"]
        share = campaign["States"]["PlanBatches"]["Parameters"]["Payload"]["sendConcurrency"]
        send = int(
            resolver.resolve(
                template["Resources"]["SendSmsFunction"]["Properties"]["Environment"]["Variables"][
                    "SEND_CONCURRENCY"
                ]
            )
        )
        assert batches * min(share, send) + send <= budget, budget
        assert batches >= 1 and share >= 1 and send >= 1
    assert template["Parameters"]["TwilioConcurrency"]["Default"] == 100


def test_the_campaign_may_write_large_results():
    """The ResultWriter uploads large result files in parts: the role lets it."""
    statements = [
        s
        for policy in RESOURCES["ExampleCampaignStateMachine"]["Properties"]["Policies"]
        if isinstance(policy, dict) and "Statement" in policy
        for s in policy["Statement"]
    ]
    actions = {a for s in statements for a in s["Action"]}
    assert {"s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"} <= actions


def transient_codes() -> set[str]:
    """The connector's codes in docs/workflows.md's `Retry` block: what it calls transient."""
    workflows = (ROOT / "docs" / "workflows.md").read_text()
    block = workflows.split("The `Retry` block to use with it")[1].split("```json")[1]
    retriers = json.loads("{" + block.split("```")[0] + "}")["Retry"]
    return {code for r in retriers for code in r["ErrorEquals"] if code in CATALOGUE}


def test_the_docs_name_transient_codes():
    assert {"SERVICE_UNAVAILABLE", "SEND_OUTCOME_AMBIGUOUS", "CONFLICT"} <= transient_codes()


@pytest.mark.parametrize("machine", MACHINES)
def test_every_send_retries_every_transient_code(machine):
    """Each shipped SEND_SMS task retries what docs/workflows.md tells users to retry: by its
    own ``Retry``, or by that of the Parallel it runs in (which retries its whole branch)."""

    def sends(definition: dict, enclosing: tuple = ()):
        for name, state in definition["States"].items():
            if state.get("Type") == "Task" and SEND_SMS_ARN in json.dumps(state):
                yield name, [*enclosing, *state.get("Retry", [])]
            for branch in state.get("Branches", []):
                yield from sends(branch, (*enclosing, *state.get("Retry", [])))
            processor = state.get("ItemProcessor") or state.get("Iterator")
            if processor:
                yield from sends(processor)

    found = list(sends(definition(machine)))
    assert found or SEND_SMS_ARN not in json.dumps(definition(machine)), machine
    for name, retriers in found:
        retried = {code for rule in retriers for code in rule["ErrorEquals"]}
        missing = transient_codes() - retried
        assert not missing, f"{machine}: {name} does not retry {sorted(missing)}"
