"""Locale data as Java 17 formats with it: CLDR from Babel (CLDR 41), corrected where Java 17
(CLDR 39, and Java's own ways) gives something else. The corrections are generated from Java
itself by ``make locale-data`` (local/goldens/locale_data.py): ``cldr_java17.json`` (fields)
and ``cldr_java17_zones.json`` (time-zone names).

Every value a format reads is a named field: ``date.short``, ``time.long``, ``glue.medium`` (how
a date and a time join), ``datetime.medium_short`` (the joined pattern),
``months.format.abbreviated``, ``days.wide``, ``ampm``, ``eras``, ``decimal``, ``group``,
``minus``, ``percent``, ``permille``, ``zero``, ``currency_decimal``, ``currency_group``,
``currency_symbol``, ``currency_digits``, ``pattern.number``, ``pattern.currency``,
``pattern.percent``; or a time-zone name. A locale answers its own correction, else that of a
locale it inherits from (its CLDR parent, its language), else Babel's value. Babel and each file
are read on the first format that needs them, never at import.

Numbers need neither Babel nor the corrections for the locales Babel knows:
``cldr_java17_numbers.json`` holds every number field of each, as the lookup above computes it
(generated with the corrections; a test checks every row against the lookup). Loading Babel's
CLDR for a locale unpickles its chain of locale files and imports ``babel.dates``: some 25 ms of
a cold start, for a template whose first number is ``${n}``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

STYLES = ("short", "medium", "long", "full")
# Paths as strings: pathlib is not otherwise imported at cold start.
DATA_FILE = os.path.join(os.path.dirname(__file__), "cldr_java17.json")
ZONES_FILE = os.path.join(os.path.dirname(__file__), "cldr_java17_zones.json")
NUMBERS_FILE = os.path.join(os.path.dirname(__file__), "cldr_java17_numbers.json")
#: The fields number formats read, in the order of a row of ``NUMBERS_FILE``.
NUMBER_FIELDS = (
    "decimal",
    "group",
    "minus",
    "percent",
    "permille",
    "zero",
    "currency_symbol",
    "currency_digits",
    "currency_decimal",
    "currency_group",
    "pattern.number",
    "pattern.percent",
    "pattern.currency",
)
#: A time-zone name's variants, as Java's ``z`` and ``zzzz`` in standard and daylight time.
ZONE_VARIANTS = ("short", "long", "short_dst", "long_dst")
DEFAULT_LOCALE = "en_US"
#: Fields a locale does not take from those it inherits from: they follow its country.
TERRITORY_FIELDS = ("currency_symbol", "currency_digits")


def _territory_currency(loc: Any) -> str:
    from babel.numbers import get_territory_currencies

    currencies = get_territory_currencies(loc.territory or "US")
    return currencies[0] if currencies else "XXX"


def babel_value(loc: Any, name: str) -> Any:
    """A field from Babel's CLDR, as the formats read it (the value before any correction)."""
    kind, _, rest = name.partition(".")
    if kind == "date":
        return loc.date_formats[rest].pattern
    if kind == "time":
        return loc.time_formats[rest].pattern
    if kind == "glue":
        return str(loc.datetime_formats[rest])
    if kind == "months":
        context, width = rest.split(".")
        return [loc.months[context][width][month] for month in range(1, 13)]
    if kind == "days":
        return [loc.days["format"][rest][day] for day in range(7)]
    if name == "ampm":
        periods = loc.day_periods["format"]["abbreviated"]
        return [periods["am"], periods["pm"]]
    if name == "eras":
        return [loc.eras["abbreviated"][0], loc.eras["abbreviated"][1]]
    if kind == "pattern":
        if rest == "currency":
            return loc.currency_formats["standard"].pattern
        formats = loc.decimal_formats if rest == "number" else loc.percent_formats
        return formats[None].pattern
    if name == "currency_symbol":
        from babel.numbers import get_currency_symbol

        return get_currency_symbol(_territory_currency(loc), loc)
    if name == "currency_digits":
        from babel.numbers import get_currency_precision

        return get_currency_precision(_territory_currency(loc))
    if name == "zero":
        return "0"  # Babel's symbols are those of the Latin digits
    if name in ("currency_decimal", "currency_group"):
        plain = babel_value(loc, name.removeprefix("currency_"))
        return loc.number_symbols.get(f"currency{name[9:].title()}", plain)
    symbol = {
        "decimal": ("decimal", "."),
        "group": ("group", ","),
        "minus": ("minusSign", "-"),
        "percent": ("percentSign", "%"),
        "permille": ("perMille", "‰"),
    }[name]
    return loc.number_symbols.get(*symbol)


def babel_zone_name(loc: Any, zone_name: str, moment: datetime, long: bool) -> tuple[str, bool]:
    """A time zone's name from Babel's CLDR for ``z`` (short) or ``zzzz`` (long), and whether it
    is only the offset (``GMT+01:00``: Babel has no name for the zone)."""
    if zone_name in ("UTC", "GMT", "Etc/UTC") and not long:
        return ("UTC" if zone_name != "GMT" else "GMT"), False
    from babel.dates import get_timezone_gmt, get_timezone_name

    width = "long" if long else "short"
    name = get_timezone_name(moment, width=width, locale=loc)
    return name, name == get_timezone_gmt(moment, width=width, locale=loc)


class LocaleData:
    """One locale's fields and zone names: Java 17's corrections (the locale's, then those of
    the locales it inherits from: its CLDR parent, its language), then Babel's CLDR; where
    Babel has no name for a zone, the name Java gives most locales that lack one. The zone
    names are read on the first that is formatted."""

    def __init__(self, babel_locale: Any, keys: list[str], fields: dict[str, dict[str, Any]],
                 zones: Callable[[], dict[str, Any]]) -> None:  # fmt: skip
        self.babel = babel_locale
        self.chain = [fields.get(key, {}) for key in keys]
        self._keys = keys
        self._zone_document = zones
        self._zones: list[dict[str, dict[str, str]]] | None = None
        self._unnamed_zones: dict[str, dict[str, str]] = {}
        self._cache: dict[str, Any] = {}

    def field(self, name: str) -> Any:
        try:
            return self._cache[name]
        except KeyError:
            pass
        chain = self.chain[:1] if name in TERRITORY_FIELDS else self.chain
        value = next((entry[name] for entry in chain if name in entry), None)
        if value is None and name.startswith("datetime."):
            date_style, time_style = name.removeprefix("datetime.").split("_")
            # Java joins a date and a time with the glue of the shorter of the two styles.
            shorter = STYLES[min(STYLES.index(date_style), STYLES.index(time_style))]
            glue = self.field(f"glue.{shorter}")
            value = glue.replace("{1}", self.field(f"date.{date_style}")).replace(
                "{0}", self.field(f"time.{time_style}")
            )
        elif value is None:
            value = babel_value(self.babel, name)
        self._cache[name] = value
        return value

    def zone_name(self, zone_name: str, moment: datetime, long: bool) -> str:
        variant = ZONE_VARIANTS[long + 2 * bool(moment.dst())]
        if self._zones is None:
            document = self._zone_document()
            self._zones = [document["locales"].get(key, {}) for key in self._keys]
            self._unnamed_zones = document["unnamed"] if self._keys else {}
        for table in self._zones:
            corrected = table.get(zone_name, {}).get(variant)
            if corrected is not None:
                return corrected
        name, unnamed = babel_zone_name(self.babel, zone_name, moment, long)
        return self._unnamed_zones.get(zone_name, {}).get(variant, name) if unnamed else name


def locale_key(locale: str) -> str | None:
    """``language`` or ``language_COUNTRY`` as Java's ``new Locale(language, country)`` reads a
    locale setting; None for any other form (a script, a variant)."""
    language, _, country = locale.partition("_")
    if not (language.isascii() and language.isalpha() and len(language) in (2, 3)):
        return None
    if not country:
        return language.lower()
    letters = len(country) == 2 and country.isalpha()
    digits = len(country) == 3 and country.isdigit()
    return (
        f"{language.lower()}_{country.upper()}"
        if country.isascii() and (letters or digits)
        else None
    )


@lru_cache(maxsize=3)
def corrections(path: str = DATA_FILE) -> dict[str, Any]:
    """Generated corrections (each file read once, when first needed)."""
    import json

    with open(path, encoding="utf-8") as file:
        return json.load(file)


def zone_corrections() -> dict[str, Any]:
    return corrections(ZONES_FILE)


def inherits(key: str) -> list[str]:
    """The locales whose corrections a locale takes, nearest first: itself, its CLDR parents
    (en_GB: en_001), its language."""
    from babel.core import get_global

    parents = get_global("parent_exceptions")
    keys = [key]
    while parents.get(keys[-1]) and locale_key(parents[keys[-1]]) == parents[keys[-1]]:
        keys.append(parents[keys[-1]])
    language = key.split("_")[0]
    return keys if language in keys else [*keys, language]


def for_locale(babel_locale: Any, key: str | None, fields: dict[str, Any],
               zones: Callable[[], dict[str, Any]]) -> LocaleData:  # fmt: skip
    """A locale's data from Babel's locale and the corrections (of fields, by locale; of zone
    names, a document read when first needed). A form Java does not read as it is (a script,
    a variant) keeps Babel's own."""
    return LocaleData(babel_locale, inherits(key) if key else [], fields, zones)


@lru_cache(maxsize=64)
def locale_data(locale: str) -> LocaleData:
    """A locale's data; an unknown locale formats as en_US."""
    from babel import Locale, UnknownLocaleError

    try:
        babel_locale = Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        babel_locale, locale = Locale.parse(DEFAULT_LOCALE), DEFAULT_LOCALE
    return for_locale(babel_locale, locale_key(locale), corrections()["locales"], zone_corrections)


@lru_cache(maxsize=64)
def number_fields(locale: str) -> dict[str, Any]:
    """A locale's ``NUMBER_FIELDS``: its row of the generated table, else (a locale Babel does
    not know as written: a script, ``en-US``, an unknown one) from ``locale_data``."""
    row = corrections(NUMBERS_FILE)["locales"].get(locale)
    if row is None:
        data = locale_data(locale)
        return {name: data.field(name) for name in NUMBER_FIELDS}
    return dict(zip(NUMBER_FIELDS, row, strict=True))
