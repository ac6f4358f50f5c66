"""``make locale-data``: the locale data Java 17 formats with, where it differs from Babel's.

Java 17 ships CLDR 39; Babel (the engine's data source) ships CLDR 41, and Java adapts CLDR in
ways of its own (a date-time glue per style pair, ``z`` names from its own tables). This compiles
local/goldens/LocaleData.java and runs it with the ``java`` that records the goldens (same JDK,
default ``java.locale.providers``), for every locale Babel knows written as ``language`` or
``language_COUNTRY`` (the form Java's ``new Locale(language, country)`` takes), then compares
each field with the value the engine computes from Babel alone and writes only the differences
to layers/connector/twilio_connector/freemarker/cldr_java17.json. The engine reads a correction
before Babel (twilio_connector.freemarker.locales). Never edit that file by hand: run this.

Time-zone names (``z``, ``zzzz``) are compared for the zones of ``pytz.common_timezones`` Java
knows, at 15 January and 15 July 2026 (standard and daylight time), in the locales of
ZONE_LOCALES only, the locales of the template corpus; elsewhere they stay Babel's (every
locale's would make the file about 4 MB: Java names most zones by its own abbreviations, "CET",
where CLDR has none). The names those locales share are stored once ("zones"), each locale's
exceptions under its entry.
"""

from __future__ import annotations

import collections
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "layers" / "connector"))

from twilio_connector.freemarker import locales  # noqa: E402
from twilio_connector.freemarker.number_format import compile_pattern  # noqa: E402

#: The locales whose time-zone names are corrected: the template corpus's (tests/goldens).
ZONE_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "pt_BR", "es_MX")
#: What LocaleData.java writes that is not a field the engine reads.
NOT_FIELDS = ("zones", "zero", "currency_min_digits")
#: The moments zone names are compared at (UTC): one in standard and one in daylight time.
MOMENTS = (datetime(2026, 1, 15, 12), datetime(2026, 7, 15, 12))
_TERRITORY = re.compile(r"^(?:[A-Z]{2}|[0-9]{3})$")


def candidate_locales() -> list[str]:
    """Babel's locales as ``language`` / ``language_COUNTRY`` strings the engine accepts."""
    from babel import Locale, UnknownLocaleError
    from babel.localedata import locale_identifiers

    found = set()
    for identifier in locale_identifiers():
        parts = identifier.split("_")
        territory = [part for part in parts[1:] if _TERRITORY.match(part)]
        if any(not _TERRITORY.match(p) and len(p) != 4 for p in parts[1:]):
            continue  # a variant (en_US_POSIX, ca_ES_VALENCIA)
        name = parts[0] + (f"_{territory[0]}" if territory else "")
        try:
            Locale.parse(name)
        except (UnknownLocaleError, ValueError):
            continue
        if locales.locale_key(name) == name:
            found.add(name)
    return sorted(found)


def java_values(names: list[str], zones: list[str]) -> tuple[str, dict[str, dict[str, Any]]]:
    with tempfile.TemporaryDirectory() as build:
        subprocess.run(["javac", "-d", build, str(HERE / "LocaleData.java")], check=True)
        version = subprocess.run(
            ["java", "-XshowSettings:properties", "-version"], capture_output=True, text=True
        ).stderr
        done = subprocess.run(
            ["java", "-cp", build, "LocaleData"],
            input=("\t".join(zones) + "\n" + "".join(f"{n}\n" for n in names)).encode(),
            capture_output=True,
            check=True,
        )
    java = re.search(r"java\.runtime\.version = (\S+)", version)
    rows = [json.loads(line) for line in done.stdout.decode().splitlines()]
    return (java.group(1) if java else "unknown"), {row.pop("locale"): row for row in rows}


def _same(name: str, engine: Any, java: Any) -> bool:
    if name.startswith("pattern."):  # equal when the engine formats with both alike
        try:
            return compile_pattern(engine) == compile_pattern(java)
        except Exception:
            return False
    return engine == java


def zone_cases(java_zones: dict[str, list[str]]) -> Iterator[tuple[str, datetime, bool, str]]:
    """(zone, local moment, long, Java's name) at the two moments."""
    import pytz

    for zone_name, names in java_zones.items():
        zone = pytz.timezone(zone_name)
        for index, moment in enumerate(MOMENTS):
            local = pytz.utc.localize(moment).astimezone(zone)
            for long in (False, True):
                yield zone_name, local, long, names[2 * index + long]


def zone_values(loc: Any, java_zones: dict[str, list[str]]) -> dict[tuple[str, str], tuple]:
    """(zone, variant): (Java's name, Babel's name)."""
    return {
        (zone, locales.ZONE_VARIANTS[long + 2 * bool(local.dst())]): (
            java,
            locales.babel_zone_name(loc, zone, local, long),
        )
        for zone, local, long, java in zone_cases(java_zones)
    }


def java_glue(java: dict[str, Any], style: str) -> str | None:
    """How Java joins a date and a time of one style, from its joined pattern."""
    joined = java[f"datetime.{style}_{style}"]
    date, time = java[f"date.{style}"], java[f"time.{style}"]
    at = joined.find(date)
    if at < 0:
        return None
    glue = joined[:at] + "{1}" + joined[at + len(date) :]
    at = glue.find(time)
    return None if at < 0 else glue[:at] + "{0}" + glue[at + len(time) :]


def field_corrections(name: str, java: dict[str, Any], parent: dict[str, Any]) -> dict[str, Any]:
    """The fields where Java differs from what the engine gives without them: the language's
    correction, else Babel's value; a joined date-time pattern only where the glue does not
    already give Java's."""
    from babel import Locale

    loc = Locale.parse(name)
    entry: dict[str, Any] = {}
    values = {k: v for k, v in java.items() if k not in NOT_FIELDS}
    for style in locales.STYLES:
        glue = java_glue(java, style)
        if glue is not None:
            values[f"glue.{style}"] = glue
    # The joined patterns last: they follow from the corrected date, time and glue fields.
    for field in sorted(values, key=lambda f: (f.startswith("datetime."), f)):
        engine = locales.LocaleData(loc, [entry, parent], {}).field(field)
        if not _same(field, engine, values[field]):
            entry[field] = values[field]
    return entry


def shared_zone_names(found: dict[str, dict]) -> tuple[dict, dict[str, dict]]:
    """The zone names the zone locales share (the most common of Java's, where that is not
    already Babel's everywhere), and each locale's exceptions to them."""
    votes: dict[tuple[str, str], collections.Counter] = collections.defaultdict(collections.Counter)
    for values in found.values():
        for key, (java, _) in values.items():
            votes[key][java] += 1
    shared: dict[str, dict[str, str]] = {}
    for key, counter in sorted(votes.items()):
        name = counter.most_common(1)[0][0]
        if any(java != babel for values in found.values() for java, babel in [values[key]]):
            shared.setdefault(key[0], {})[key[1]] = name
    exceptions: dict[str, dict[str, dict[str, str]]] = {}
    for locale, values in found.items():
        for (zone, variant), (java, babel) in values.items():
            if java != shared.get(zone, {}).get(variant, babel):
                exceptions.setdefault(locale, {}).setdefault(zone, {})[variant] = java
    return shared, exceptions


def check(names: list[str], java: dict[str, dict[str, Any]], document: dict[str, Any]) -> None:
    """Every field, read as the engine reads the document, is Java's (else the generator is
    wrong: stop before writing)."""
    from babel import Locale

    wrong = []
    for name in names:
        data = locales.for_locale(Locale.parse(name), name, document)
        for field, value in java[name].items():
            if field not in NOT_FIELDS and not _same(field, data.field(field), value):
                wrong.append(f"{name} {field}")
        for zone, local, long, expected in zone_cases(java[name].get("zones", {})):
            if data.zone_name(zone, local, long) != expected:
                wrong.append(f"{name} {zone} {'zzzz' if long else 'z'} {local:%Y-%m}")
    if wrong:
        sys.exit("the corrections do not reproduce Java: " + ", ".join(wrong[:20]))


def dumps(document: dict[str, Any]) -> str:
    """JSON with one zone and one locale a line, so that a regeneration diffs by locale."""

    def line(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    out = ["{"]
    for key, value in document.items():
        if isinstance(value, dict):
            items = [f"{line(k)}:{line(v)}" for k, v in value.items()]
            out.append(f"{line(key)}:{{\n" + ",\n".join(items) + "\n},")
        else:
            out.append(f"{line(key)}:{line(value)},")
    out[-1] = out[-1].rstrip(",")
    return "\n".join(out) + "\n}\n"


def main() -> None:
    import babel
    import pytz

    names = candidate_locales()
    lines = [f"{n}\tzones" if n in ZONE_LOCALES else n for n in names]
    java_version, java = java_values(lines, list(pytz.common_timezones))
    found: dict[str, dict[str, Any]] = {}
    unsupported: dict[str, list[str]] = {"zero digit": [], "currency digits min != max": []}
    # Languages first: a locale's entry holds only what its language's entry does not give.
    for name in sorted(names, key=lambda n: ("_" in n, n)):
        values = java[name]
        if values["zero"] != "0":
            unsupported["zero digit"].append(name)
        if values["currency_digits"] != values["currency_min_digits"]:
            unsupported["currency digits min != max"].append(name)
        parent = found.get(name.split("_")[0], {}) if "_" in name else {}
        fields = field_corrections(name, values, parent)
        if fields:
            found[name] = fields
    from babel import Locale

    zone_found = {n: zone_values(Locale.parse(n), java[n]["zones"]) for n in ZONE_LOCALES}
    shared, exceptions = shared_zone_names(zone_found)
    for name, zones in exceptions.items():
        found.setdefault(name, {})["zones"] = zones
    document: dict[str, Any] = {
        "about": "Generated by `make locale-data` (local/goldens/locale_data.py): where the "
        "locale data Java formats with differs from Babel's. Never edit by hand.",
        "java": java_version,
        "babel": babel.__version__,
        "zone_locales": list(ZONE_LOCALES),
        "zones": shared,
        "locales": dict(sorted(found.items())),
    }
    check(names, java, document)
    locales.DATA_FILE.write_text(dumps(document), encoding="utf-8")
    field_count = sum(len(v) - ("zones" in v) for v in found.values())
    zone_count = sum(len(v) for v in shared.values()) + sum(
        len(z) for e in exceptions.values() for z in e.values()
    )
    with_fields = sum(1 for v in found.values() if len(v) > ("zones" in v))
    print(
        f"{len(names)} locales compared; {with_fields} have {field_count} corrected fields; "
        f"{zone_count} zone names corrected "
        f"({len(ZONE_LOCALES)} locales); {locales.DATA_FILE.stat().st_size} bytes written to "
        f"{locales.DATA_FILE.relative_to(ROOT)}",
        file=sys.stderr,
    )
    for what, where in unsupported.items():
        if where:
            print(f"not applied ({what}): {', '.join(where)}", file=sys.stderr)


if __name__ == "__main__":
    main()
