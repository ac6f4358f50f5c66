"""The example state machines: valid ASL, real error codes, substitutions the template provides."""

import json
import re

import pytest

from local.lambda_loader import ROOT
from local.template import load_template
from twilio_connector.errors import CATALOGUE

ASL = sorted((ROOT / "statemachines").glob("*.asl.json"))


def states(definition: dict):
    for name, state in definition["States"].items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from states(branch)
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from states(processor)


@pytest.mark.parametrize("path", ASL, ids=lambda p: p.name)
def test_definition_is_valid_asl(path):
    definition = json.loads(path.read_text())
    assert definition["StartAt"] in definition["States"]
    for name, state in states(definition):
        for key in ("Next", "Default"):
            if key in state:
                assert state[key] in definition["States"] or any(
                    state[key] in (p.get("ItemProcessor") or {}).get("States", {})
                    for p in definition["States"].values()
                ), f"{path.name}: {name}.{key} -> {state[key]}"
        assert state.get("End") or "Next" in state or state["Type"] in ("Succeed", "Fail", "Choice")


@pytest.mark.parametrize("path", ASL, ids=lambda p: p.name)
def test_every_error_equals_names_a_real_code(path):
    for name, state in states(json.loads(path.read_text())):
        for rule in state.get("Retry", []) + state.get("Catch", []):
            for code in rule["ErrorEquals"]:
                assert code in CATALOGUE or code.startswith(("States.", "Lambda.", "DynamoDB.")), (
                    f"{path.name}: {name} names {code}, which no function raises"
                )


#: What the template substitutes in the definitions: anything else in ${...} would be template
#: text (a smsBody's ${name}) that a substitution could eat.
SUBSTITUTIONS = {
    "SendSmsFunctionArn",
    "CancelSmsFunctionArn",
    "AppointmentRemindersTable",
    "ReminderMessagingServiceSid",
}


@pytest.mark.parametrize("path", ASL, ids=lambda p: p.name)
def test_no_template_text_is_eaten_by_substitutions(path):
    text = path.read_text()
    assert set(re.findall(r"\$\{(\w+)\}", text)) <= SUBSTITUTIONS


def test_the_template_deploys_each_example_with_its_substitutions():
    resources = load_template()["Resources"]
    machines = {
        name: r["Properties"]
        for name, r in resources.items()
        if r["Type"] == "AWS::Serverless::StateMachine"
    }
    assert {(ROOT / p["DefinitionUri"]) for p in machines.values()} == set(ASL)
    for name, props in machines.items():
        needed = set(re.findall(r"\$\{(\w+)\}", (ROOT / props["DefinitionUri"]).read_text()))
        assert needed <= set(props["DefinitionSubstitutions"]), name
        assert resources[name]["Condition"] == "WithExamples"
