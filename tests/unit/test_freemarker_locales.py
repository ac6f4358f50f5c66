"""Locale data as Java 17 formats with it: Babel's CLDR plus the corrections `make locale-data`
generates from Java (twilio_connector/freemarker/cldr_java17*.json). The goldens show the
result; these tests check the files are what the generator writes and that the engine reads
them, and only when a template formats something."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import babel
import pytest
import pytz
from babel import Locale

from local.lambda_loader import LAYER
from twilio_connector.freemarker import locales, render_template

STYLES = locales.STYLES
FIELDS = {
    *(f"{kind}.{style}" for kind in ("date", "time", "glue") for style in STYLES),
    *(f"datetime.{d}_{t}" for d in STYLES for t in STYLES),
    *(f"months.{c}.{w}" for c in ("format", "stand-alone") for w in ("abbreviated", "wide")),
    "days.abbreviated", "days.wide", "ampm", "eras",
    "decimal", "group", "minus", "percent", "permille", "zero",
    "currency_decimal", "currency_group", "currency_symbol", "currency_digits",
    "pattern.number", "pattern.currency", "pattern.percent",
}  # fmt: skip
FIELDS_FILE = json.loads(Path(locales.DATA_FILE).read_text(encoding="utf-8"))
ZONES_FILE = json.loads(Path(locales.ZONES_FILE).read_text(encoding="utf-8"))
NUMBERS_FILE = json.loads(Path(locales.NUMBERS_FILE).read_text(encoding="utf-8"))


def babel_only(locale: str) -> locales.LocaleData:
    """A locale's data without any correction: Babel's CLDR as the engine would read it."""
    return locales.for_locale(
        Locale.parse(locale), locale, {}, lambda: {"unnamed": {}, "locales": {}}
    )


@pytest.mark.parametrize("document", [FIELDS_FILE, ZONES_FILE], ids=["fields", "zones"])
def test_the_files_say_how_they_were_made_and_from_what(document):
    assert "make locale-data" in document["about"]
    assert document["java"].startswith("17.")
    # Corrections are differences from one Babel: another needs `make locale-data` again.
    assert document["babel"] == babel.__version__


def test_the_number_table_is_every_number_field_of_every_locale_as_the_lookup_reads_it():
    """The table number formats read instead of Babel: the same values, for every locale
    ``make locale-data`` compares (a Babel upgrade or new corrections without regenerating it
    fails here)."""
    from local.goldens.locale_data import number_rows

    assert "make locale-data" in NUMBERS_FILE["about"]
    assert NUMBERS_FILE["babel"] == babel.__version__
    assert NUMBERS_FILE["fields"] == list(locales.NUMBER_FIELDS)
    assert NUMBERS_FILE["locales"] == number_rows()
    assert len(NUMBERS_FILE["locales"]) > 700
    assert locales.number_fields("de_CH")["group"] == "\u2019"
    # A locale the table does not hold as written (a script) is read through Babel, as before.
    assert "zh_Hans_CN" not in NUMBERS_FILE["locales"]
    data = locales.locale_data("zh_Hans_CN")
    assert locales.number_fields("zh_Hans_CN") == {f: data.field(f) for f in locales.NUMBER_FIELDS}


def test_every_correction_is_a_field_the_engine_reads_for_a_locale_it_accepts():
    assert FIELDS_FILE["locales"], "no corrections at all"
    for name, entry in FIELDS_FILE["locales"].items():
        assert locales.locale_key(name) == name
        loc = Locale.parse(name)
        assert entry, f"{name} has an empty entry"
        for field, value in entry.items():
            assert field in FIELDS, f"{name}: unknown field {field}"
            if field.startswith("datetime."):
                assert isinstance(value, str)
                continue
            babel_value = locales.babel_value(loc, field)
            assert type(value) is type(babel_value), f"{name} {field}"
            if isinstance(value, list):
                assert len(value) == len(babel_value), f"{name} {field}"
                assert all(isinstance(item, str) and item for item in value)


def test_every_zone_name_is_for_a_zone_a_variant_and_a_locale_the_engine_knows():
    tables = [("unnamed", ZONES_FILE["unnamed"]), *ZONES_FILE["locales"].items()]
    for name, table in tables:
        if name != "unnamed":
            assert locales.locale_key(name) == name
            Locale.parse(name)
        for zone, names in table.items():
            assert zone in pytz.all_timezones, f"{name}: {zone}"
            assert names and set(names) <= set(locales.ZONE_VARIANTS), f"{name}: {zone}"
            assert all(isinstance(text, str) and text for text in names.values())


def test_a_correction_changes_what_renders():
    # Java 17 (CLDR 39) abbreviates March "mar." in es_MX; Babel's CLDR 41 has "mar".
    assert babel_only("es_MX").field("months.format.abbreviated")[2] == "mar"
    assert locales.locale_data("es_MX").field("months.format.abbreviated")[2] == "mar."
    rendered = render_template(
        '${d?date.iso?string("d MMM yyyy")}', {"d": "2024-03-05"}, locale="es_MX", time_zone="UTC"
    )
    assert rendered == "5 mar. 2024"


def test_a_zone_name_correction_changes_what_renders():
    template = "${t?datetime.iso?string('zzzz')}"
    moment = pytz.utc.localize(pytz.datetime.datetime(2024, 3, 5, 14, 30))
    assert babel_only("fr_FR").zone_name("UTC", moment, long=True) == "temps universel coordonné"
    rendered = render_template(template, {"t": "2024-03-05T14:30:00Z"}, locale="fr_FR")
    assert rendered == "Temps universel coordonné"


def test_a_locale_takes_the_corrections_of_its_cldr_parents_then_its_language():
    assert locales.inherits("en_GB") == ["en_GB", "en_001", "en"]
    assert locales.inherits("es_MX") == ["es_MX", "es_419", "es"]
    assert locales.inherits("de_DE") == ["de_DE", "de"]
    assert locales.inherits("de") == ["de"]
    assert locales.locale_key("de-de".replace("-", "_")) == "de_DE"
    assert locales.locale_key("zh_Hans_CN") is None  # Java does not read a script so


def test_locale_data_is_read_only_when_a_template_formats_with_it():
    code = """
import json, sys
sys.path[:0] = [sys.argv[1]]
from twilio_connector.freemarker import locales, render_template
seen = []
def note():
    seen.append(("babel" in sys.modules, locales.corrections.cache_info().currsize))
note()
render_template("Hi ${name}!", {"name": "Ada"}, locale="de_DE", time_zone="UTC")
note()
render_template("${n}", {"n": 1234.5}, locale="de_DE", time_zone="UTC")
note()
render_template("${t?datetime.iso?string('z')}", {"t": "2024-03-05T14:30:00Z"}, locale="de_DE",
                time_zone="Europe/Berlin")
note()
print(json.dumps(seen))
"""
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true"}
    run = subprocess.run(
        [sys.executable, "-c", code, str(LAYER)], capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stderr
    # Nothing at import, nor for a template without formats; the number table (not Babel) on
    # the first number; Babel, the fields and the zone names on the first zone name.
    assert json.loads(run.stdout) == [[False, 0], [False, 0], [False, 1], [True, 3]]
