"""Freemarker-style rendering: every supported feature, every template error, the caps."""

import json

import pytest

from twilio_connector import freemarker
from twilio_connector.errors import (
    INVALID_INPUT,
    TEMPLATE_METADATA_ERROR,
    TEMPLATE_READ_ERROR,
    TEMPLATE_SYNTAX_ERROR,
)
from twilio_connector.rendering import load_variables, render

META = {
    "name": "ada",
    "fullName": {"firstName": "Ada", "lastName": "Lovelace"},
    "order": {"id": "A-1", "items": ["tea", "cake"], "total": 12.5, "count": 3, "vip": True},
    "padded": "  spaced  ",
    "nothing": None,
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Hello ${name}", "Hello ada"),
        ("${fullName.lastName}", "Lovelace"),
        ('${fullName["firstName"]}', "Ada"),
        ("${order.items[1]}", "cake"),
        ('${missing!"default"}', "default"),
        ("[${missing!}]", "[]"),
        ('${nothing!"null is missing"}', "null is missing"),
        ('${(a.b.c)!"whole path"}', "whole path"),
        ('${(fullName.middleName)!"-"}', "-"),
        ('${name!"unused"}', "ada"),
        ("${name?upper_case}", "ADA"),
        ("${fullName.lastName?lower_case}", "lovelace"),
        ("${name?cap_first}", "Ada"),
        ("${padded?trim}", "spaced"),
        ("${name?length}", "3"),
        ("${padded?trim?upper_case?length}", "6"),
        ("${order.items?size}", "2"),
        ('${order.items?join(", ")}', "tea, cake"),
        ("${order.total}", "12.5"),
        ("${order.count * 2}", "6"),
        ("${order.total + 0.5}", "13"),
        ('${"#" + order.id}', "#A-1"),
        ('${order.vip?then("VIP", "regular")}', "VIP"),
        ('${order.vip?string("yes", "no")}', "yes"),
        ("${(missing??)?c}", "false"),
        ("${(name??)?c}", "true"),
        ('${(order.count > 2)?then("many", "few")}', "many"),
        ('${(order.count gt 5)?then("many", "few")}', "few"),
        ('${"x"?left_pad(3, ".")}', "..x"),
        ('${name?replace("a", "A")}', "AdA"),
        ("<#if order.vip>VIP </#if>${name}", "VIP ada"),
        ("<#if order.count == 1>one<#elseif order.count == 3>three<#else>other</#if>", "three"),
        ("<#list order.items as item>${item}<#if item?has_next>+</#if></#list>", "tea+cake"),
        ("<#list order.items as item>${item?counter}.${item} </#list>", "1.tea 2.cake "),
        ("<#list missing![] as x>${x}<#else>none</#list>", "none"),
        ("a<#-- a comment -->b", "ab"),
        ("a<#-- a comment never closed runs to the end", "a"),
        ("Plain text, no variables.", "Plain text, no variables."),
        ("multi\nline ${name}\n", "multi\nline ada\n"),
        ("€ and 👍 ${name}", "€ and 👍 ada"),
    ],
)
def test_renders_freemarker_features(template, expected):
    assert render(template, META) == expected


@pytest.mark.parametrize(
    "template",
    ["{{ 7*7 }}", "{% for x in range(3) %}x{% endfor %}", "{# c #}", "$name", "{$name}", "$ {x}"],
)
def test_jinja_and_other_syntax_in_text_stays_literal(template):
    assert render(template, {"name": "ada", "x": 1}) == template


@pytest.mark.parametrize(
    ("template", "named"),
    [
        ("Hi ${missing}", "'missing'"),
        ("${fullName.middleName}", "'fullName.middleName'"),
        ("${order.items[5]}", "'order.items[5]'"),
        ("${nothing}", "'nothing'"),
        ("${nothing?upper_case}", "'nothing'"),
        ("${a.b.c}", "'a'"),  # FreeMarker names the first missing step
    ],
)
def test_missing_metadata_is_named(template, named):
    with pytest.raises(TEMPLATE_METADATA_ERROR) as raised:
        render(template, META)
    assert named in raised.value.message
    assert raised.value.details["line"] == 1


def test_missing_metadata_position_points_at_the_interpolation():
    with pytest.raises(TEMPLATE_METADATA_ERROR) as raised:
        render("line one\n  ok ${name} then ${nope}", META)
    assert raised.value.details == {"line": 2, "column": 21}  # where the expression starts
    body = json.loads(str(raised.value))
    assert body["code"] == "TEMPLATE_METADATA_ERROR" and "'nope'" in body["message"]


@pytest.mark.parametrize(
    "template",
    [
        "${order.items}",  # a sequence cannot be printed
        "${name * 2}",  # arithmetic on text
        "${1 / 0}",
        "<#if name>x</#if>",  # a condition must be a boolean
        "${name < 1}",  # ('"a" < 1', a string literal, is a syntax error, as in FreeMarker)
        "<#list name as x>${x}</#list>",
    ],
)
def test_wrong_types_are_metadata_errors(template):
    with pytest.raises(TEMPLATE_METADATA_ERROR):
        render(template, META)


@pytest.mark.parametrize(
    ("template", "line", "column"),
    [
        ("Hello ${name", 1, 9),
        ("${}", 1, 3),
        ("x\n${name?no_such_builtin}", 2, 8),
        ("${name + }", 1, 10),
        ("${name.}", 1, 8),
        ("${name @ 2}", 1, 8),
        ('${"unterminated}', 1, 3),
        ("<#if x>never closed", 1, 1),
        ("</#if>", 1, 1),
        ("<#list xs>${x}</#list>", 1, 1),
        ("${x?index}", 1, 5),
        ("${" + "(" * 100 + "1" + ")" * 100 + "}", 1, 43),
    ],
)
def test_syntax_errors_carry_their_position(template, line, column):
    with pytest.raises(TEMPLATE_SYNTAX_ERROR) as raised:
        render(template, META)
    assert (raised.value.details["line"], raised.value.details["column"]) == (line, column)
    assert f"line {line}, column {column}" in raised.value.message


@pytest.mark.parametrize("template", [None, 42, ["a"], {"t": 1}, "x" * 10_001, "bad\x00", "\ud800"])
def test_unreadable_templates(template):
    with pytest.raises(TEMPLATE_READ_ERROR):
        render(template, {})


@pytest.mark.parametrize(
    "template",
    [
        '${"x"?left_pad(100000000)}',
        '${"a"?left_pad(9000, "a")?replace("a", "aaaaaaaaaa")}',
        '${"a"?left_pad(9000, "a") + "a"?left_pad(9000, "a") + "a"?left_pad(9000, "a")}',
        '${"a"?left_pad(9000, "a")}${"a"?left_pad(9000, "a")}${"a"?left_pad(9000, "a")}',
        "<#list big as a><#list big as b>${a}</#list></#list>",
    ],
)
def test_render_caps_end_in_a_template_error(template):
    with pytest.raises((TEMPLATE_READ_ERROR, TEMPLATE_METADATA_ERROR)):
        render(template, {"big": list(range(5000))})


def test_render_time_is_capped(monkeypatch):
    monkeypatch.setattr(freemarker, "RENDER_SECONDS", 0.05)
    big = list(range(3000))
    with pytest.raises(TEMPLATE_READ_ERROR, match="to render"):
        render("<#list big as a><#list big as b>${b?c?length}</#list></#list>", {"big": big})


@pytest.mark.parametrize(
    "template",
    [
        "${name.__class__}",
        "${name.__class__.__mro__[1].__subclasses__()}",
        "${name.upper()}",
        "${cycler.__init__.__globals__}",
        "${lipsum}",
        "${range(10)}",
        '${"{0.__class__}".format(name)}',
        "${self}",
        "${S}",
        "${K[0]}",
    ],
)
def test_the_template_reaches_nothing_but_the_metadata(template):
    """Python attributes, jinja globals and the renderer's own names are out of reach."""
    with pytest.raises((TEMPLATE_METADATA_ERROR, TEMPLATE_SYNTAX_ERROR)):
        render(template, META)


def test_dictionary_methods_are_not_reachable_by_name():
    assert (
        render("${d.items}", {"d": {"items": "a key, not dict.items"}}) == "a key, not dict.items"
    )
    with pytest.raises(TEMPLATE_METADATA_ERROR):
        render("${d.keys}", {"d": {}})


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [(None, {}), ("", {}), ({"a": 1}, {"a": 1}), ('{"a": {"b": 2}}', {"a": {"b": 2}})],
)
def test_metadata_as_object_or_json_string(metadata, expected):
    assert load_variables(metadata) == expected


@pytest.mark.parametrize("metadata", ["{not json", "[1, 2]", "42", 42, ["a"], "null x"])
def test_metadata_that_is_not_an_object_is_invalid_input(metadata):
    with pytest.raises(INVALID_INPUT):
        load_variables(metadata)
