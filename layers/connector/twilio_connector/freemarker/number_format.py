"""Java's DecimalFormat, on Decimal, with the locale's symbols and patterns from CLDR as Java 17
has it (:mod:`.locales`): the default ``number`` format, ``currency``, ``percent``, ``computer``
(``?c``) and patterns such as ``0.00`` or ``#,##0.##``. Rounding is half-even, as Java's."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from functools import lru_cache
from typing import NamedTuple

from twilio_connector.freemarker.errors import FtlRuntimeError, Refused
from twilio_connector.freemarker.locales import number_fields


class Pattern(NamedTuple):  # NamedTuples: immutable, and cheap to create at import
    prefix: str
    suffix: str
    neg_prefix: str
    neg_suffix: str
    min_int: int
    min_frac: int
    max_frac: int
    grouping: int  # 0: none
    multiplier: int
    currency: bool


class Symbols(NamedTuple):
    decimal: str
    group: str
    minus: str
    percent: str
    permille: str
    currency_symbol: str
    currency_digits: int
    currency_decimal: str = "."
    currency_group: str = ","
    zero: str = "0"


@lru_cache(maxsize=64)
def symbols(locale: str) -> Symbols:
    fields = number_fields(locale)
    return Symbols(
        decimal=fields["decimal"],
        group=fields["group"],
        minus=fields["minus"],
        percent=fields["percent"],
        permille=fields["permille"],
        currency_symbol=fields["currency_symbol"],
        currency_digits=fields["currency_digits"],
        currency_decimal=fields["currency_decimal"],
        currency_group=fields["currency_group"],
        zero=fields["zero"],
    )


def localize_digits(text: str, zero: str) -> str:
    """ASCII digits as the locale's (Java formats with its DecimalFormatSymbols' zero digit)."""
    if zero == "0":
        return text
    return text.translate({48 + digit: ord(zero) + digit for digit in range(10)})


def _split_affix(part: str) -> tuple[str, str, str]:
    """A (sub)pattern into prefix, number part, suffix; quotes are literal text."""
    match = re.match(r"^((?:'[^']*'|[^#0,.])*)([#0,.]+(?:E0+)?)((?:'[^']*'|[^#0,.])*)$", part)
    if not match:
        raise FtlRuntimeError(f"malformed number format {part!r}")
    return match.group(1), match.group(2), match.group(3)


def _literal(affix: str) -> str:
    return re.sub(r"'([^']*)'", lambda m: m.group(1) or "'", affix)


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> Pattern:
    positive, _, negative = pattern.partition(";")
    prefix, number, suffix = _split_affix(positive)
    if "E" in number:
        raise Refused(f"the scientific number format {pattern!r}")
    integer, _, fraction = number.partition(".")
    if "," in fraction or "." in fraction:
        raise FtlRuntimeError(f"malformed number format {pattern!r}")
    grouping = len(integer) - integer.rfind(",") - 1 if "," in integer else 0
    digits = integer.replace(",", "")
    min_int = digits.count("0")
    multiplier = 100 if "%" in prefix + suffix else 1000 if "‰" in prefix + suffix else 1
    if negative:
        neg_prefix, _, neg_suffix = _split_affix(negative)
    else:
        neg_prefix, neg_suffix = "-" + prefix, suffix
    return Pattern(
        prefix=_literal(prefix),
        suffix=_literal(suffix),
        neg_prefix=_literal(neg_prefix),
        neg_suffix=_literal(neg_suffix),
        min_int=min_int,
        min_frac=fraction.count("0"),
        max_frac=len(fraction),
        grouping=grouping,
        multiplier=multiplier,
        currency="¤" in prefix + suffix,
    )


def _affix(text: str, sym: Symbols) -> str:
    return (
        text.replace("¤", sym.currency_symbol)
        .replace("%", sym.percent)
        .replace("‰", sym.permille)
        .replace("-", sym.minus)
    )


def format_decimal(value: Decimal, pattern: Pattern, sym: Symbols,
                   min_frac: int | None = None, max_frac: int | None = None) -> str:  # fmt: skip
    lo = pattern.min_frac if min_frac is None else min_frac
    hi = pattern.max_frac if max_frac is None else max_frac
    with localcontext() as ctx:
        ctx.prec = 200
        scaled = value * pattern.multiplier
        rounded = scaled.quantize(Decimal(1).scaleb(-hi), rounding=ROUND_HALF_EVEN)
    negative = rounded.is_signed() and rounded != 0
    text = format(abs(rounded), "f")
    integer, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    if len(fraction) < lo:
        fraction += "0" * (lo - len(fraction))
    integer = integer.lstrip("0")
    if len(integer) < pattern.min_int:
        integer = "0" * (pattern.min_int - len(integer)) + integer
    if pattern.grouping and len(integer) > pattern.grouping:
        size = pattern.grouping
        groups = []
        while len(integer) > size:
            groups.insert(0, integer[-size:])
            integer = integer[:-size]
        groups.insert(0, integer)
        integer = (sym.currency_group if pattern.currency else sym.group).join(groups)
    decimal = sym.currency_decimal if pattern.currency else sym.decimal
    body = localize_digits(integer + (decimal + fraction if fraction else "") or "0", sym.zero)
    if negative:
        return _affix(pattern.neg_prefix, sym) + body + _affix(pattern.neg_suffix, sym)
    return _affix(pattern.prefix, sym) + body + _affix(pattern.suffix, sym)


_COMPUTER = Symbols(".", ",", "-", "%", "‰", "¤", 2)
_C_PATTERN = "0.################"


def computer(value: Decimal) -> str:
    """``?c`` under incompatible_improvements 2.3.20 (the legacy computer format)."""
    return format_decimal(value, compile_pattern(_C_PATTERN), _COMPUTER)


def format_number(value: Decimal, fmt: str, locale: str) -> str:
    """A number by a FreeMarker number format name or a DecimalFormat pattern."""
    if fmt in ("computer", "c"):
        return computer(value)
    sym = symbols(locale)
    if fmt in ("number", "", "currency", "percent"):
        pattern = compile_pattern(number_fields(locale)[f"pattern.{fmt or 'number'}"])
        if fmt == "currency":
            digits = sym.currency_digits
            return format_decimal(value, pattern, sym, digits, digits)
        return format_decimal(value, pattern, sym)
    if "{" in fmt or fmt.startswith("@"):
        raise Refused(f"the number format {fmt!r}")
    return format_decimal(value, compile_pattern(fmt), sym)


def legacy_interpolation(value: Decimal, lo: int | None, hi: int | None, locale: str) -> str:
    """``#{x; mXMY}``: no grouping, the locale's decimal sign."""
    sym = symbols(locale)
    if lo is None and hi is None:
        lo, hi = 0, 16
    elif hi is None:
        hi = lo
    elif lo is None:
        lo = 0
    assert lo is not None and hi is not None
    hi = max(lo, hi)
    return format_decimal(value, compile_pattern("0"), sym, lo, hi)
