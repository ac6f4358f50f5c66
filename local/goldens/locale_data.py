"""``make locale-data``: the locale data Java 17 formats with, where it differs from Babel's.

Java 17 ships CLDR 39; Babel (the engine's data source) ships CLDR 41, and Java adapts CLDR in
ways of its own (a date-time glue per style pair, ``z`` names from its own tables). This compiles
local/goldens/LocaleData.java and runs it with the ``java`` that records the goldens (same JDK,
default ``java.locale.providers``), for every locale Babel knows written as ``language`` or
``language_COUNTRY`` (the form Java's ``new Locale(language, country)`` takes), then compares
each field with the value the engine computes from Babel alone and writes only the differences
to layers/connector/twilio_connector/freemarker/cldr_java17.json (fields) and
cldr_java17_zones.json (zone names, read only when a template formats one). The engine reads a
correction before Babel (twilio_connector.freemarker.locales). Never edit them: run this.

Time-zone names (``z``, ``zzzz``) are compared for the zones of ``pytz.common_timezones`` Java
knows, at 15 January and 15 July 2026 (standard and daylight time). Where CLDR has no name, Java
takes its own older tables' ("CET", "Central European Time") and Babel writes the offset: the
name Java gives most such locales is stored once ("unnamed"), the rest under the locales.

A locale's entry holds only what the locales it inherits from (its CLDR parent, en_001 for
en_GB, then its language) do not already give: they are generated first. Before writing, every
field and zone name of every locale is read back through the engine's lookup and must be Java's.

Last, every number field of every locale, read through that lookup, is written whole to
cldr_java17_numbers.json: number formats read it without loading Babel. It needs no Java (Babel
and the corrections): ``python -m local.goldens.locale_data --numbers`` writes it alone, after
upgrading Babel.
"""

from __future__ import annotations

import collections
import json
import multiprocessing
import re
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "layers" / "connector"))

from twilio_connector.freemarker import locales  # noqa: E402
from twilio_connector.freemarker.number_format import compile_pattern  # noqa: E402

#: What LocaleData.java writes that is not a field the engine reads.
NOT_FIELDS = ("zones", "currency_min_digits")
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
    if not java or not java.group(1).startswith("17."):
        sys.exit(f"make locale-data needs the goldens' Java 17; java is {java and java.group(1)}")
    rows = [json.loads(line) for line in done.stdout.decode().splitlines()]
    return java.group(1), {row.pop("locale"): row for row in rows}


def _same(name: str, engine: Any, java: Any) -> bool:
    if name.startswith("pattern."):  # equal when the engine formats with both alike
        try:
            return compile_pattern(engine) == compile_pattern(java)
        except Exception:
            return False
    return engine == java


def zone_rows(name: str, java_zones: dict[str, list[str]]) -> list[tuple]:
    """(zone, moment index, long, variant, Java's name, Babel's name, Babel has none) for one
    locale."""
    from babel import Locale

    loc = Locale.parse(name)
    rows = []
    for zone_name, names in java_zones.items():
        for index in range(len(MOMENTS)):
            local = local_moment(zone_name, index)
            for long in (False, True):
                variant = locales.ZONE_VARIANTS[long + 2 * bool(local.dst())]
                babel, unnamed = locales.babel_zone_name(loc, zone_name, local, long)
                java = names[2 * index + long]
                rows.append((zone_name, index, long, variant, java, babel, unnamed))
    return rows


def local_moment(zone_name: str, index: int) -> datetime:
    import pytz

    return pytz.utc.localize(MOMENTS[index]).astimezone(pytz.timezone(zone_name))


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


def unnamed_zones(rows: dict[str, list[tuple]]) -> dict[str, dict[str, str]]:
    """For each zone and variant, the name Java gives most locales Babel has no name for, where
    that saves more corrections than it costs."""
    votes: dict[tuple[str, str], collections.Counter] = collections.defaultdict(collections.Counter)
    for found in rows.values():
        for zone, _, _, variant, java, babel, unnamed in found:
            if unnamed:
                votes[zone, variant][java, java == babel] += 1
    table: dict[str, dict[str, str]] = {}
    for (zone, variant), counter in sorted(votes.items()):
        names = collections.Counter()
        for (java, _), count in counter.items():
            names[java] += count
        name = names.most_common(1)[0][0]
        saved = counter[name, False]
        cost = sum(count for (java, same), count in counter.items() if same and java != name)
        if saved > cost:
            table.setdefault(zone, {})[variant] = name
    return table


def correct(name: str, java: dict[str, Any], rows: list[tuple], fields: dict, zones: dict) -> None:
    """The entries ``name`` needs: the fields and zone names where Java differs from what the
    engine gives without them (from the locales it inherits from, then Babel). A joined
    date-time pattern only where the glue does not already give Java's."""
    from babel import Locale

    loc = Locale.parse(name)
    entry: dict[str, Any] = fields["locales"].setdefault(name, {})
    values = {k: v for k, v in java.items() if k not in NOT_FIELDS}
    for style in locales.STYLES:
        glue = java_glue(java, style)
        if glue is not None:
            values[f"glue.{style}"] = glue
    # The joined patterns last: they follow from the corrected date, time and glue fields.
    for field in sorted(values, key=lambda f: (f.startswith("datetime."), f)):
        engine = reader(loc, name, fields, zones).field(field)
        if not _same(field, engine, values[field]):
            entry[field] = values[field]
    names: dict[str, dict[str, str]] = zones["locales"].setdefault(name, {})
    data = reader(loc, name, fields, zones)
    for zone, index, long, variant, expected, _, _ in rows:
        if data.zone_name(zone, local_moment(zone, index), long) != expected:
            names.setdefault(zone, {})[variant] = expected


def reader(loc: Any, name: str, fields: dict, zones: dict) -> locales.LocaleData:
    """The engine's reading of a locale from the documents (as generated so far)."""
    return locales.for_locale(loc, name, fields["locales"], lambda: zones)


def check(java: dict[str, dict[str, Any]], rows: dict[str, list[tuple]], fields: dict,
          zones: dict) -> None:  # fmt: skip
    """Every field and zone name, read as the engine reads the documents, is Java's (else the
    generator is wrong: stop before writing)."""
    from babel import Locale

    wrong = []
    for name, values in java.items():
        data = reader(Locale.parse(name), name, fields, zones)
        for field, value in values.items():
            if field not in NOT_FIELDS and not _same(field, data.field(field), value):
                wrong.append(f"{name} {field}")
        for zone, index, long, _, expected, _, _ in rows[name]:
            if data.zone_name(zone, local_moment(zone, index), long) != expected:
                wrong.append(f"{name} {zone} {'zzzz' if long else 'z'} {MOMENTS[index]:%m}")
    if wrong:
        sys.exit(f"the corrections do not reproduce Java ({len(wrong)}): {', '.join(wrong[:20])}")


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
    from babel import Locale

    names = candidate_locales()
    print(f"{len(names)} locales compared", file=sys.stderr)
    java_version, java = java_values([f"{n}\tzones" for n in names], list(pytz.common_timezones))
    with multiprocessing.Pool(2) as pool:  # Babel's zone names: some 1,700 a locale
        found = pool.starmap(zone_rows, [(n, java[n]["zones"]) for n in names])
    rows = dict(zip(names, found, strict=True))
    # Babel's zone names are computed once: read them back from the rows from now on.
    babel_names = {
        (str(Locale.parse(name)), zone, index, long): (babel, unnamed)
        for name, found in rows.items()
        for zone, index, long, _, _, babel, unnamed in found
    }

    def known_babel_name(loc: Any, zone: str, moment: datetime, long: bool) -> tuple[str, bool]:
        index = MOMENTS.index(moment.astimezone(UTC).replace(tzinfo=None))
        return babel_names[str(loc), zone, index, long]

    locales.babel_zone_name = known_babel_name
    about = {
        "about": "Generated by `make locale-data` (local/goldens/locale_data.py): where the "
        "locale data Java formats with differs from Babel's. Never edit by hand.",
        "java": java_version,
        "babel": babel.__version__,
    }
    fields: dict[str, Any] = {**about, "locales": {}}
    zones: dict[str, Any] = {**about, "unnamed": unnamed_zones(rows), "locales": {}}
    # The locales others inherit from first (a language, en_001, then en_GB).
    for name in sorted(names, key=lambda n: (len(locales.inherits(n)), n)):
        correct(name, java[name], rows[name], fields, zones)
    for document in (fields, zones):
        document["locales"] = {k: v for k, v in sorted(document["locales"].items()) if v}
    check(java, rows, fields, zones)
    Path(locales.DATA_FILE).write_text(dumps(fields), encoding="utf-8")
    Path(locales.ZONES_FILE).write_text(dumps(zones), encoding="utf-8")
    field_count = sum(len(v) for v in fields["locales"].values())
    zone_count = sum(len(z) for e in zones["locales"].values() for z in e.values())
    unnamed = sum(len(v) for v in zones["unnamed"].values())
    for path, what in (
        (Path(locales.DATA_FILE), f"{field_count} fields of {len(fields['locales'])} locales"),
        (
            Path(locales.ZONES_FILE),
            f"{zone_count} zone names of {len(zones['locales'])} locales and {unnamed} of "
            "zones Babel has no name for",
        ),
    ):
        print(f"{path.relative_to(ROOT)}: {what}, {path.stat().st_size:,} bytes", file=sys.stderr)
    odd = [n for n in names if java[n]["currency_digits"] != java[n]["currency_min_digits"]]
    if odd:
        print(f"currency digits min != max (not applied): {', '.join(odd)}", file=sys.stderr)
    write_numbers()


def number_rows() -> dict[str, list[Any]]:
    """Every number field of every locale, as the engine's lookup reads it (from Babel and the
    corrections now on disk)."""
    locales.corrections.cache_clear()
    locales.locale_data.cache_clear()
    return {
        name: [locales.locale_data(name).field(field) for field in locales.NUMBER_FIELDS]
        for name in candidate_locales()
    }


def write_numbers() -> None:
    import babel

    document = {
        "about": "Generated by `make locale-data` (local/goldens/locale_data.py): every number "
        "field of each locale, as cldr_java17.json and Babel give it. Never edit by hand.",
        "babel": babel.__version__,
        "fields": list(locales.NUMBER_FIELDS),
        "locales": number_rows(),
    }
    path = Path(locales.NUMBERS_FILE)
    path.write_text(dumps(document), encoding="utf-8")
    size = path.stat().st_size
    rows = len(document["locales"])
    print(f"{path.relative_to(ROOT)}: {rows} locales, {size:,} bytes", file=sys.stderr)


if __name__ == "__main__":
    write_numbers() if sys.argv[1:] == ["--numbers"] else main()
