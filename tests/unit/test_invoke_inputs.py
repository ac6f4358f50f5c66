"""What `make invoke` reads before it runs anything: PARAMS in sam's --parameter-overrides
syntax, checked as CloudFormation checks them, and the `.$` references of a STEPS list."""

import pytest

from local.invoke import resolve_references, select
from local.template import parse_parameter_overrides


def test_parameter_overrides_read_as_sam_reads_them():
    text = (
        """SmsTriggers='[{"name": "a b", "pattern": "x"}]' DefaultPhoneRegion=US """
        "ParameterKey=TemplateLocale,ParameterValue=de_DE MaxRecipients=10"
    )
    assert parse_parameter_overrides(text) == {
        "SmsTriggers": '[{"name": "a b", "pattern": "x"}]',
        "DefaultPhoneRegion": "US",
        "TemplateLocale": "de_DE",
        "MaxRecipients": "10",
    }
    assert parse_parameter_overrides("") == {}
    assert parse_parameter_overrides("DefaultPhoneRegion=") == {"DefaultPhoneRegion": ""}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("MaxRecipients=0", "must be a number not less than 1"),
        ("MaxRecipients=ten", "must be a number"),
        ("TwilioConcurrency=7", "must be one of AllowedValues"),
        ("TemplateLocale=de-DE", "must match pattern"),
        ("DefaultPhoneRegion", "is not Name=Value"),
        ("SmsTriggers='[", "No closing quotation"),
        ("Nope=1", "template.yaml has no parameter 'Nope'"),
    ],
)
def test_a_value_cloudformation_refuses_is_refused(text, message):
    with pytest.raises(ValueError, match=message):
        parse_parameter_overrides(text)


def test_references_take_values_from_earlier_outputs():
    document = {"steps": [{"messages": [{"sid": "SM1"}, {"sid": "SM2"}]}], "time": {"now": "t"}}
    event = {
        "sid.$": "$.steps[0].messages[1].sid",
        "nested": [{"at.$": "$.time.now"}],
        "smsBody": "Hello ${name}",  # FreeMarker, not a reference
        "literal": "$.steps[0]",  # a key without .$ keeps its value
    }
    assert resolve_references(event, document) == {
        "sid": "SM2",
        "nested": [{"at": "t"}],
        "smsBody": "Hello ${name}",
        "literal": "$.steps[0]",
    }
    assert select(document, "$") is document


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("$.steps[1].sid", r"nothing at \$\.steps\[1\]"),
        ("$.steps[0].messages[0].nope", "nothing at"),
        ("steps[0]", "starts with"),
        ("$.steps[x]", "cannot read it"),
    ],
)
def test_a_reference_to_nothing_is_refused(path, message):
    with pytest.raises(ValueError, match=message):
        select({"steps": [{"messages": [{"sid": "SM1"}]}]}, path)
