"""Built-ins on strings. Lengths and indexes count UTF-16 code units, as Java does."""

from __future__ import annotations

import re
import time
import urllib.parse
from decimal import Decimal, InvalidOperation
from typing import Any

from twilio_connector.freemarker.builtins import builtin
from twilio_connector.freemarker.builtins.common import (
    arity,
    as_int,
    as_str,
    from_units,
    no_args,
    utf16_len,
    utf16_units,
)
from twilio_connector.freemarker.errors import FtlLimit, FtlRuntimeError, Refused
from twilio_connector.freemarker.values import MAX_VALUE_CHARS, capped


def _text(r: Any, name: str, value: Any) -> str:
    return r.to_text(value, f"?{name}")


@builtin("upper_case")
def upper_case(r: Any, value: Any, args: Any) -> Any:
    no_args("upper_case", args)
    return _text(r, "upper_case", value).upper()


@builtin("lower_case")
def lower_case(r: Any, value: Any, args: Any) -> Any:
    no_args("lower_case", args)
    return _text(r, "lower_case", value).lower()


def _first_letter(name: str, change):  # noqa: ANN001
    """?cap_first / ?uncap_first: change the first character that is not white-space."""

    def run(r: Any, value: Any, args: Any) -> Any:
        no_args(name, args)
        text = _text(r, name, value)
        match = re.search(r"\S", text)
        if not match:
            return text
        k = match.start()
        return text[:k] + change(text[k]) + text[k + 1 :]

    builtin(name)(run)


_first_letter("cap_first", str.title)
_first_letter("uncap_first", str.lower)


@builtin("capitalize")
def capitalize(r: Any, value: Any, args: Any) -> Any:
    text = _text(r, "capitalize", value)
    return re.sub(r"\S+", lambda m: m.group()[0].title() + m.group()[1:].lower(), text)


@builtin("trim")
def trim(r: Any, value: Any, args: Any) -> Any:
    return _text(r, "trim", value).strip("".join(chr(c) for c in range(33)))


@builtin("length")
def length(r: Any, value: Any, args: Any) -> Any:
    return Decimal(utf16_len(_text(r, "length", value)))


@builtin("chop_linebreak")
def chop_linebreak(r: Any, value: Any, args: Any) -> Any:
    text = _text(r, "chop_linebreak", value)
    for end in ("\r\n", "\n", "\r"):
        if text.endswith(end):
            return text[: -len(end)]
    return text


def _index(r: Any, name: str, args: list[Any], k: int) -> int:
    return as_int(name, args[k])


@builtin("substring")
def substring(r: Any, value: Any, args: Any) -> Any:
    arity("substring", args, 1, 2)
    units = utf16_units(_text(r, "substring", value))
    begin = _index(r, "substring", args, 0)
    end = _index(r, "substring", args, 1) if len(args) > 1 else len(units)
    if begin < 0 or end > len(units) or begin > end:
        raise FtlRuntimeError(f"?substring({begin}, {end}) is out of the string's bounds")
    return from_units(units[begin:end])


def _search_args(r: Any, name: str, args: Any, count: int = 1) -> list[str]:
    arity(name, args, count)
    return [r.to_text(a, f"?{name} argument") for a in args]


@builtin("contains")
def contains(r: Any, value: Any, args: Any) -> Any:
    (needle,) = _search_args(r, "contains", args)
    return needle in _text(r, "contains", value)


@builtin("starts_with")
def starts_with(r: Any, value: Any, args: Any) -> Any:
    (needle,) = _search_args(r, "starts_with", args)
    return _text(r, "starts_with", value).startswith(needle)


@builtin("ends_with")
def ends_with(r: Any, value: Any, args: Any) -> Any:
    (needle,) = _search_args(r, "ends_with", args)
    return _text(r, "ends_with", value).endswith(needle)


def _units_index(text: str, k: int) -> int:
    return utf16_len(text[:k]) if k >= 0 else -1


@builtin("index_of")
def index_of(r: Any, value: Any, args: Any) -> Any:
    arity("index_of", args, 1, 2)
    text, needle = _text(r, "index_of", value), r.to_text(args[0], "?index_of argument")
    start = as_int("index_of", args[1]) if len(args) > 1 else 0
    if any(ord(ch) > 0xFFFF for ch in text) and start:
        raise Refused("?index_of with a start index on text outside the BMP")
    return Decimal(_units_index(text, text.find(needle, max(start, 0))))


@builtin("last_index_of")
def last_index_of(r: Any, value: Any, args: Any) -> Any:
    arity("last_index_of", args, 1)
    text, needle = _text(r, "last_index_of", value), r.to_text(args[0], "argument")
    return Decimal(_units_index(text, text.rfind(needle)))


def _keep(name: str):
    def run(r: Any, value: Any, args: Any) -> Any:
        arity(name, args, 1, 2)
        text, needle = _text(r, name, value), r.to_text(args[0], f"?{name} argument")
        if len(args) > 1:
            raise Refused(f"?{name} with flags")
        last = name.endswith("_last")
        k = text.rfind(needle) if last else text.find(needle)
        if k < 0:
            return text if name.startswith("keep_before") else ""
        return text[:k] if name.startswith("keep_before") else text[k + len(needle) :]

    return run


for _name in ("keep_before", "keep_after", "keep_before_last", "keep_after_last"):
    builtin(_name)(_keep(_name))


@builtin("remove_beginning")
def remove_beginning(r: Any, value: Any, args: Any) -> Any:
    text, (prefix,) = _text(r, "remove_beginning", value), _search_args(r, "remove_beginning", args)
    return text[len(prefix) :] if text.startswith(prefix) else text


@builtin("remove_ending")
def remove_ending(r: Any, value: Any, args: Any) -> Any:
    text, (suffix,) = _text(r, "remove_ending", value), _search_args(r, "remove_ending", args)
    return text[: len(text) - len(suffix)] if suffix and text.endswith(suffix) else text


@builtin("ensure_starts_with")
def ensure_starts_with(r: Any, value: Any, args: Any) -> Any:
    arity("ensure_starts_with", args, 1)
    text, prefix = _text(r, "ensure_starts_with", value), r.to_text(args[0], "argument")
    return text if text.startswith(prefix) else prefix + text


@builtin("ensure_ends_with")
def ensure_ends_with(r: Any, value: Any, args: Any) -> Any:
    arity("ensure_ends_with", args, 1)
    text, suffix = _text(r, "ensure_ends_with", value), r.to_text(args[0], "argument")
    return text if text.endswith(suffix) else text + suffix


def _flags(r: Any, name: str, args: list[Any], k: int) -> str:
    flags = r.to_text(args[k], f"?{name} flags") if len(args) > k else ""
    if set(flags) - set("rifmsc"):
        raise Refused(f"?{name} with the flags {flags!r}")
    return flags


_REGEX_FLAGS = {"i": "IGNORECASE", "m": "MULTILINE", "s": "DOTALL", "c": "VERBOSE"}
_JAVA_ONLY = ("\\p", "\\Q", "\\G", "\\z", "\\h", "\\R", "++", "*+", "?+", "(?<")


def _regex(name: str, pattern: str, flags: str) -> Any:
    """A regular expression as java.util.regex reads it (ASCII classes and case folding), on the
    ``regex`` module, whose matching takes a timeout."""
    import regex

    if any(token in pattern for token in _JAVA_ONLY):
        raise Refused(f"?{name} with Java-specific regular expression syntax")
    options = regex.VERSION0 | regex.ASCII
    for flag in flags:
        if flag in _REGEX_FLAGS:
            options |= getattr(regex, _REGEX_FLAGS[flag])
    try:
        return regex.compile(pattern, options)
    except regex.error as exc:
        raise FtlRuntimeError(f"?{name}: invalid regular expression: {exc}") from None


#: CPU seconds one regular-expression match may take (the ``regex`` module counts CPU time).
REGEX_SECONDS = 0.1


def _within(r: Any, name: str, run):  # noqa: ANN001
    """Runs a regular-expression match within REGEX_SECONDS and what is left of the render's
    time, so that catastrophic backtracking on metadata ends in an error."""
    try:
        return run(max(min(r.deadline - time.monotonic(), REGEX_SECONDS), 0.001))
    except TimeoutError:
        raise FtlLimit(f"?{name}: the regular expression took too long") from None


@builtin("replace")
def replace(r: Any, value: Any, args: Any) -> Any:
    arity("replace", args, 2, 3)
    text = _text(r, "replace", value)
    old, new = r.to_text(args[0], "?replace argument"), r.to_text(args[1], "?replace argument")
    flags = _flags(r, "replace", args, 2)
    if "r" in flags:
        if "$" in new or "\\" in new:
            raise Refused("?replace with group references in the replacement")
        pattern = _regex("replace", old, flags)
        count = 1 if "f" in flags else 0
        return capped(
            _within(r, "replace", lambda s: pattern.sub(lambda _m: new, text, count, timeout=s))
        )
    if "i" in flags:
        literal = re.compile(re.escape(old), re.IGNORECASE)
        return capped(literal.sub(lambda _m: new, text, count=1 if "f" in flags else 0))
    if old == "":
        raise Refused("?replace of an empty string")
    return capped(text.replace(old, new, 1 if "f" in flags else -1))


@builtin("matches")
def matches(r: Any, value: Any, args: Any) -> Any:
    arity("matches", args, 1, 2)
    text = _text(r, "matches", value)
    pattern = _regex(
        "matches", r.to_text(args[0], "?matches argument"), _flags(r, "matches", args, 1)
    )
    return _within(r, "matches", lambda s: pattern.fullmatch(text, timeout=s)) is not None


@builtin("split")
def split(r: Any, value: Any, args: Any) -> Any:
    arity("split", args, 1, 2)
    text, sep = _text(r, "split", value), r.to_text(args[0], "?split argument")
    flags = _flags(r, "split", args, 1)
    if "r" in flags:
        pattern = _regex("split", sep, flags)
        return _within(r, "split", lambda s: pattern.split(text, timeout=s))
    if sep == "":
        raise Refused("?split on an empty separator")
    if "i" in flags:
        return re.split(re.escape(sep), text, flags=re.IGNORECASE)
    return text.split(sep)


@builtin("word_list")
def word_list(r: Any, value: Any, args: Any) -> Any:
    return _text(r, "word_list", value).split()


@builtin("truncate")
def truncate(r: Any, value: Any, args: Any) -> Any:
    """?truncate(n[, terminator]): cut inside a word to fit ``n`` UTF-16 units with the
    terminator ("[...]"), one character earlier when the cut falls at a word's end. A cut where
    FreeMarker's algorithm would look for a word boundary is refused."""
    arity("truncate", args, 1, 2)
    text = _text(r, "truncate", value)
    limit = as_int("truncate", args[0])
    if utf16_len(text) <= limit:
        return text
    terminator = r.to_text(args[1], "?truncate argument") if len(args) > 1 else "[...]"
    room = limit - utf16_len(terminator)
    if room <= 0:
        return terminator
    if utf16_len(text) != len(text):
        raise Refused("?truncate of text outside the Basic Multilingual Plane")
    keep = text[:room]
    if any(ch.isspace() for ch in keep[room - max(1, room // 4) :]):
        raise Refused("?truncate where the cut falls near a word boundary")
    if text[room].isspace():
        keep = keep[:-1]
    return keep + terminator


def _pad(name: str, left: bool):
    def run(r: Any, value: Any, args: Any) -> Any:
        arity(name, args, 1, 2)
        text = _text(r, name, value)
        width = as_int(name, args[0])
        fill = r.to_text(args[1], f"?{name} argument") if len(args) > 1 else " "
        if not fill:
            raise FtlRuntimeError(f"?{name}: the padding string is empty")
        if width > MAX_VALUE_CHARS:
            raise FtlLimit(f"a value of more than {MAX_VALUE_CHARS} characters")
        missing = width - utf16_len(text)
        if missing <= 0:
            return text
        if left:
            pad = "".join(fill[k % len(fill)] for k in range(missing))
            return pad + text
        pad = "".join(fill[(len(text) + k) % len(fill)] for k in range(missing))
        return text + pad

    return run


builtin("left_pad")(_pad("left_pad", True))
builtin("right_pad")(_pad("right_pad", False))


def _escape(name: str, fn):  # noqa: ANN001
    def run(r: Any, value: Any, args: Any) -> Any:
        no_args(name, args)
        return fn(_text(r, name, value))

    builtin(name)(run)


def _html(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def _xml(text: str) -> str:
    return _html(text).replace("&#39;", "&apos;")


def _xhtml(text: str) -> str:
    return _html(text).replace("'", "&#39;")


_CONTROL = {"\n": "n", "\r": "r", "\t": "t", "\b": "b", "\f": "f"}


def _script_string(text: str, json_mode: bool) -> str:
    """FreeMarker's ?js_string / ?json_string: quotes, backslash, control characters, and the
    characters that could close a script or comment in HTML ("</", "<!", "]]>", "-->")."""
    out = []
    for k, ch in enumerate(text):
        prev = text[k - 1] if k else ""
        if ch == '"' or ch == "\\" or (ch == "'" and not json_mode):
            out.append("\\" + ch)
        elif ch in _CONTROL:
            out.append("\\" + _CONTROL[ch])
        elif ch == "/" and prev == "<":
            out.append("\\/")
        elif ch == "<" and text[k + 1 : k + 2] == "!":
            out.append("\\u003C" if json_mode else "\\x3C")
        elif ch == ">" and (prev in ("]", "-") or k == 0):
            out.append("\\u003E" if json_mode else "\\>")
        elif ord(ch) < 0x20 or ch in "\u2028\u2029" or 0x7F <= ord(ch) <= 0x9F:
            out.append(f"\\u{ord(ch):04X}" if json_mode or ord(ch) > 0xFF else f"\\x{ord(ch):02X}")
        else:
            out.append(ch)
    return "".join(out)


def _js(text: str) -> str:
    return _script_string(text, json_mode=False)


def _json(text: str) -> str:
    return _script_string(text, json_mode=True)


def _java_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


_escape("html", _html)
_escape("xml", _xml)
_escape("xhtml", _xhtml)
_escape("js_string", _js)
_escape("json_string", _json)
_escape("j_string", _java_string)


def _url(name: str, safe: str):
    def run(r: Any, value: Any, args: Any) -> Any:
        if not args:  # as in Alfresco's configuration: no url_escaping_charset
            raise FtlRuntimeError(f"?{name} needs a charset: no url_escaping_charset is set")
        arity(name, args, 1)
        charset = r.to_text(args[0], f"?{name} argument")
        try:
            return urllib.parse.quote(_text(r, name, value), safe=safe, encoding=charset)
        except LookupError:
            raise FtlRuntimeError(f"?{name}: unknown charset {charset!r}") from None

    builtin(name)(run)


_url("url", "*'()!~-_.")
_url("url_path", "/*'()!~-_.")


@builtin("boolean")
def boolean(r: Any, value: Any, args: Any) -> Any:
    text = _text(r, "boolean", value)
    if text == "true":
        return True
    if text == "false":
        return False
    raise FtlRuntimeError(f"can't convert {text!r} to a boolean")


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


@builtin("number")
def number(r: Any, value: Any, args: Any) -> Any:
    if isinstance(value, Decimal):
        return value
    text = as_str("number", value).strip()
    if not _NUMBER.fullmatch(text):
        if text in ("INF", "-INF", "NaN", "Infinity", "-Infinity"):
            raise Refused("?number of infinity or NaN")
        raise FtlRuntimeError(f"can't convert this string to number: {text!r}")
    try:
        result = Decimal(text)
    except InvalidOperation:
        raise FtlRuntimeError(f"can't convert this string to number: {text!r}") from None
    if abs(result.adjusted()) > 100:
        raise FtlRuntimeError("the number is too large")
    return result
