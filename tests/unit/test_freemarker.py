"""The FreeMarker engine beyond the goldens: configuration, exact decimals, refusals, caching."""

import contextlib
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twilio_connector import clear_caches
from twilio_connector.errors import (
    TEMPLATE_METADATA_ERROR,
    TEMPLATE_READ_ERROR,
    TEMPLATE_SYNTAX_ERROR,
)
from twilio_connector.freemarker import compile_template
from twilio_connector.rendering import load_variables, render

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def environment(monkeypatch):
    def use(**env: str) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        clear_caches()

    yield use
    clear_caches()


def test_locale_and_time_zone_come_from_the_configuration(environment):
    template = "${n} ${when?datetime.iso?string('HH:mm')}"
    data = {"n": 1234.5, "when": "2024-03-05T14:30:00Z"}
    assert render(template, data) == "1,234.5 14:30"
    environment(TEMPLATE_LOCALE="de_DE", TEMPLATE_TIME_ZONE="Europe/Paris")
    assert render(template, data) == "1.234,5 15:30"
    assert render("<#setting locale='en_US'>${n}", data) == "1,234.5"  # a template overrides


def test_metadata_numbers_keep_their_decimal_value():
    assert render("${p * 100}", {"p": 19.99}) == "1,999"  # a float from Step Functions' JSON
    variables = load_variables('{"p": 0.1, "big": 12345678901234567890.12}')
    assert render("${p * 3} ${big?c}", variables) == "0.3 12345678901234567890.12"


@pytest.mark.parametrize(
    ("template", "construct"),
    [
        ("<#include 'x.ftl'>", "<#include>"),
        ("<#import 'lib.ftl' as lib>", "<#import>"),
        ("${'1 + 1'?eval}", "?eval"),
        ("${'freemarker.template.utility.Execute'?new()}", "?new"),
        ("${x?api}", "?api"),
    ],
)
def test_refused_constructs_are_named(template, construct):
    with pytest.raises(TEMPLATE_SYNTAX_ERROR) as raised:
        render(template, {"x": "a"})
    assert f"{construct} is not supported" in raised.value.message


def test_a_compiled_template_is_cached_by_its_text():
    compile_template.cache_clear()
    render("Hi ${name}", {"name": "a"})
    render("Hi ${name}", {"name": "b"})
    assert compile_template.cache_info().hits == 1


def test_the_docs_examples_are_in_the_corpus():
    section = (ROOT / "docs" / "templates.md").read_text()
    goldens = json.loads((ROOT / "tests" / "goldens" / "freemarker.json").read_text())["cases"]
    corpus = {case["template"] for case in goldens}
    [example] = re.findall(r"```\n(.*?)```", section, re.DOTALL)
    assert example.rstrip("\n") in corpus


FRAGMENTS = [
    "${", "}", "#{", "<#if ", "</#if>", "<#list ", " as x>", "</#list>", "<#else>", "<#items as y>",
    "</#items>", "<#sep>", "<#switch ", "<#case ", "</#switch>", "<#break>", "<#macro m a>",
    "</#macro>", "<@m ", "/>", "<#function f x>", "<#return x>", "</#function>", "<#nested>",
    "<#assign ", "<#local z=1>", "<#--", "-->", "<#compress>", "<#attempt>", "<#recover>",
    "</#attempt>", "<#noparse>", "<#t>", "<#setting locale='de_DE'>", "x", "name", "items", "m",
    "(", ")", "[", "]", "{", "'", '"', "r'", "\\", "..", "..<", "1", "0.5", "-", "+", "*", "/",
    "%", "<", ">", "==", "&&", "!", "?", "??", "?c", "?size", "?string", "?join(',')",
    "?then(1, 2)", "?datetime.iso", "?index", "?truncate(3)", "?matches('a+')", "x -> x",
    "?filter(x -> x)", ".now", "f(1)", "\n", " ",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=14).map("".join))
def test_any_template_renders_or_fails_with_a_template_error(template):
    data = {"name": "Ada", "items": [1, 2, "x"], "m": {"a": 1}, "x": "2024-01-01T00:00:00Z"}
    with contextlib.suppress(TEMPLATE_SYNTAX_ERROR, TEMPLATE_METADATA_ERROR, TEMPLATE_READ_ERROR):
        render(template, data)  # anything else (a Python exception) fails the test


@pytest.mark.parametrize(
    ("template", "value", "pointer"),
    [
        ("${due?date}", "2024-05-01", "?date.iso, or give the string's pattern: ?date(\""),
        ("${due?datetime}", "2024-05-01T15:45:00Z", "?datetime.iso"),
        ("${due?time}", "15:45:00", "?time.iso"),
    ],
)
def test_a_date_built_in_without_a_pattern_on_a_string_points_to_iso(template, value, pointer):
    with pytest.raises(TEMPLATE_SYNTAX_ERROR) as raised:
        render(template, {"due": value})
    assert pointer in raised.value.message
    render(template.replace("}", ".iso}"), {"due": value})  # the pointer works as given


def test_a_number_format_on_a_string_says_it_needs_a_number():
    with pytest.raises(TEMPLATE_METADATA_ERROR) as raised:
        render('${name?string("0.00")}', {"name": "12.5"})
    message = raised.value.message
    assert "formats a number or a date" in message and "?number" in message
    assert "cannot be called" not in message
    assert render('${name?number?string("0.00")}', {"name": "12.5"}) == "12.50"
