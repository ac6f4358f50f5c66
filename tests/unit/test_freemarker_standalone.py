"""The FreeMarker engine stands on its own: it imports nothing from the connector around it,
takes its settings as arguments and raises only its own TemplateError (the connector turns it
into TEMPLATE_* errors in twilio_connector.rendering, tested with the goldens)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from twilio_connector import config, freemarker
from twilio_connector.freemarker import TemplateError, render_template

ENGINE = Path(freemarker.__file__).parent
PACKAGE = "twilio_connector.freemarker"


def imports_of(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module a file imports, at the top or inside a function, relative ones resolved."""
    package = module if is_package else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0]
                base = f"{parent}.{base}" if base else parent
            found.add(base)
    return found


def imported_modules(path: Path) -> set[str]:
    module = ".".join(path.relative_to(ENGINE.parent.parent).with_suffix("").parts)
    is_package = path.name == "__init__.py"
    if is_package:
        module = module.rpartition(".")[0]
    return imports_of(path.read_text(encoding="utf-8"), module, is_package)


def test_the_engine_imports_nothing_of_the_connector_outside_itself():
    files = sorted(ENGINE.rglob("*.py"))
    assert len(files) > 15 and ENGINE / "builtins" / "strings.py" in files
    outside = {
        f"{path.relative_to(ENGINE)}: {name}"
        for path in files
        for name in imported_modules(path)
        if name.partition(".")[0] == "twilio_connector"
        and name != PACKAGE
        and not name.startswith(PACKAGE + ".")
    }
    assert not outside, f"the engine imports the connector: {sorted(outside)}"


def test_the_import_check_sees_imports_inside_functions_and_relative_ones():
    source = "def f():\n    from twilio_connector.config import x\nfrom ..errors import E\n"
    assert imports_of(source, PACKAGE + ".builtins.probe") == {
        "twilio_connector.config",
        PACKAGE + ".errors",
    }
    assert imports_of("from . import tree", PACKAGE, is_package=True) == {PACKAGE}


def test_settings_are_arguments_not_the_environment(monkeypatch):
    monkeypatch.setenv("TEMPLATE_LOCALE", "de_DE")
    monkeypatch.setenv("TEMPLATE_TIME_ZONE", "Europe/Berlin")
    config.get_settings.cache_clear()
    try:
        template = "${n} ${t?datetime.iso?string('HH:mm')}"
        data = {"n": 1234.5, "t": "2024-03-05T14:30:00Z"}
        assert render_template(template, data) == "1,234.5 14:30"  # en_US, UTC
        assert render_template(template, data, locale="de_DE", time_zone="Europe/Berlin") == (
            "1.234,5 15:30"
        )
    finally:
        config.get_settings.cache_clear()


@pytest.mark.parametrize(
    ("template", "kind", "message", "where", "construct"),
    [
        ("Hi ${name", "syntax", "unclosed expression: expected '}'", (1, 6), None),
        ("\n<#include 'x.ftl'>", "refused", "<#include> is not supported", (2, 1), "<#include>"),
        ("${a.b}", "missing", "missing variable 'a'", (1, 3), None),
        ("${1/0}", "runtime", "division by zero", (1, 4), None),
        ("${'x'?left_pad(30)}", "limit", "the output is over 20 characters", (None, None), None),
    ],
)
def test_errors_are_template_errors_naming_what_failed(template, kind, message, where, construct):
    with pytest.raises(TemplateError) as raised:
        render_template(template, {}, max_output=20)
    error = raised.value
    assert (error.kind, error.message, (error.line, error.column)) == (kind, message, where)
    assert error.construct == construct


def test_the_time_cap_is_an_argument():
    big = list(range(3000))
    with pytest.raises(TemplateError) as raised:
        render_template("<#list big as a><#list big as b>${b}</#list></#list>", {"big": big},
                        seconds=0.02)  # fmt: skip
    assert (raised.value.kind, raised.value.limit) == ("timeout", 0.02)
