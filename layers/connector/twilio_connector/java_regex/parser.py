"""The parser: Pattern.java's recursive descent, followed method by method (``RemoveQEQuoting``,
``expr``, ``sequence``, ``atom``, ``ref``, ``escape``, ``clazz``, ``range``, ``family``,
``groupname``, ``group0``, ``addFlag``, ``subFlag``, ``closure``...), emitting ``regex`` source
instead of a node chain, with Java's errors and indexes.
"""

from __future__ import annotations

import unicodedata

from twilio_connector.java_regex.char_predicates import (
    ALL,
    ASCII_DIGIT,
    ASCII_SPACE,
    ASCII_WORD,
    DIGIT,
    HORIZ_WS,
    LETTER_OR_DIGIT,
    LINE_TERMINATORS,
    LINEBREAK,
    LINEBREAK_ONCE,
    NOTHING,
    VERT_WS,
    WHITE_SPACE,
    WORD,
    _and,
    _ascii_lower,
    _ascii_upper,
    _case_table,
    _chars,
    _fold_class,
    _for_block,
    _for_property,
    _for_script,
    _for_unicode_property,
    _is_ascii_alnum,
    _is_ascii_alpha,
    _is_ascii_digit,
    _is_ascii_space,
    _is_hex,
    _jlower,
    _jupper,
    _lit,
    _neg,
    _posix,
    _rng,
)
from twilio_connector.java_regex.errors import JavaPatternError
from twilio_connector.java_regex.flags import (
    _FLAG_LETTERS,
    CASE_INSENSITIVE,
    COMMENTS,
    DOTALL,
    MAX_CODE_POINT,
    MAX_REPS,
    MULTILINE,
    UNICODE_CASE,
    UNICODE_CHARACTER_CLASS,
    UNIX_LINES,
)
from twilio_connector.java_regex.nodes import _char_node, _Node
from twilio_connector.java_regex.study import Op, _Info, _study


class _Parser:
    """java.util.regex.Pattern's recursive descent, emitting regex source."""

    def __init__(self, pattern: str, total_groups: int | None, max_text: int) -> None:
        self.pattern = pattern
        self.max_text = max_text
        self.total_groups = total_groups
        self.flags = 0
        self.cursor = 0
        self.capturing_count = 1
        self.named: dict[str, int] = {}
        self.temp = [ord(c) for c in pattern]
        self.pattern_length = len(self.temp)
        self._remove_qe_quoting()
        self.temp += [0, 0]
        self.root = _Node("", [])
        self.predicate = ""
        self.negative_depth = 0
        self.lookbehind_depth = 0
        self.unsupported: JavaPatternError | None = None

    # -- Java's cursor primitives
    def _unsupported(self, description: str, index: int) -> None:
        """A construct Java accepts that this module cannot run as Java does: the pattern is
        refused with it once parsed (so that Java's own refusals come first)."""
        if self.unsupported is None:
            self.unsupported = JavaPatternError(description, index)

    def error(self, description: str) -> JavaPatternError:
        return JavaPatternError(description, self.cursor - 1)

    def has(self, flag: int) -> bool:
        return bool(self.flags & flag)

    def peek(self) -> int:
        ch = self.temp[self.cursor]
        if self.has(COMMENTS):
            ch = self.peek_past_whitespace(ch)
        return ch

    def read(self) -> int:
        ch = self.temp[self.cursor]
        self.cursor += 1
        if self.has(COMMENTS):
            ch = self.parse_past_whitespace(ch)
        return ch

    def next(self) -> int:
        self.cursor += 1
        ch = self.temp[self.cursor]
        if self.has(COMMENTS):
            ch = self.peek_past_whitespace(ch)
        return ch

    def next_escaped(self) -> int:
        self.cursor += 1
        return self.temp[self.cursor]

    def skip(self) -> int:
        ch = self.temp[self.cursor + 1]
        self.cursor += 2
        return ch

    def unread(self) -> None:
        self.cursor -= 1

    def accept(self, ch: int, description: str) -> None:
        test = self.temp[self.cursor]
        self.cursor += 1
        if self.has(COMMENTS):
            test = self.parse_past_whitespace(test)
        if ch != test:
            raise self.error(description)

    def peek_past_whitespace(self, ch: int) -> int:
        while _is_ascii_space(ch) or ch == 0x23:
            while _is_ascii_space(ch):
                self.cursor += 1
                ch = self.temp[self.cursor]
            if ch == 0x23:
                ch = self.peek_past_line()
        return ch

    def parse_past_whitespace(self, ch: int) -> int:
        while _is_ascii_space(ch) or ch == 0x23:
            while _is_ascii_space(ch):
                ch = self.temp[self.cursor]
                self.cursor += 1
            if ch == 0x23:
                ch = self.parse_past_line()
        return ch

    def parse_past_line(self) -> int:
        ch = self.temp[self.cursor]
        self.cursor += 1
        while ch != 0 and not self.is_line_separator(ch):
            ch = self.temp[self.cursor]
            self.cursor += 1
        if ch == 0 and self.cursor > self.pattern_length:
            self.cursor = self.pattern_length
            ch = self.temp[self.cursor]
            self.cursor += 1
        return ch

    def peek_past_line(self) -> int:
        self.cursor += 1
        ch = self.temp[self.cursor]
        while ch != 0 and not self.is_line_separator(ch):
            self.cursor += 1
            ch = self.temp[self.cursor]
        if ch == 0 and self.cursor > self.pattern_length:
            self.cursor = self.pattern_length
            ch = self.temp[self.cursor]
        return ch

    def is_line_separator(self, ch: int) -> bool:
        if self.has(UNIX_LINES):
            return ch == 0x0A
        return ch in (0x0A, 0x0D, 0x85, 0x2028, 0x2029)

    def _remove_qe_quoting(self) -> None:
        """Pattern.RemoveQEQuoting: ``\\Q...\\E`` becomes escaped characters."""
        temp, p_len = self.temp, self.pattern_length
        i = 0
        while i < p_len - 1:
            if temp[i] != 0x5C:
                i += 1
            elif temp[i + 1] != 0x51:
                i += 2
            else:
                break
        if i >= p_len - 1:
            return
        out = temp[:i]
        i += 2
        in_quote = begin_quote = True
        while i < p_len:
            c = temp[i]
            i += 1
            if c > 0x7F or _is_ascii_alpha(c):
                out.append(c)
            elif _is_ascii_digit(c):
                if begin_quote:
                    out += [0x5C, 0x78, 0x33]  # \x3 then the digit: a hex escape
                out.append(c)
            elif c != 0x5C:
                if in_quote:
                    out.append(0x5C)
                out.append(c)
            elif in_quote:
                if i < p_len and temp[i] == 0x45:
                    i += 1
                    in_quote = False
                else:
                    out += [0x5C, 0x5C]
            else:
                if i < p_len and temp[i] == 0x51:
                    i += 1
                    in_quote = begin_quote = True
                    continue
                out.append(c)
                if i != p_len:
                    out.append(temp[i])
                    i += 1
            begin_quote = False
        self.temp = out
        self.pattern_length = len(out)

    # -- the grammar
    def parse(self) -> str:
        try:
            node = self.expr()
        except IndexError:  # ran past the end, where Java reads its zero padding
            raise self.error("Unexpected internal error") from None
        if self.pattern_length != self.cursor:
            if self.peek() == 0x29:
                raise self.error("Unmatched closing ')'")
            raise self.error("Unexpected internal error")
        if self.unsupported is not None:
            raise self.unsupported
        return node.source

    def expr(self) -> _Node:
        alternatives: list[_Node | None] = []
        while True:
            alternatives.append(self.sequence())
            if self.peek() != 0x7C:
                break
            self.next()
        if len(alternatives) == 1:
            return alternatives[0] or _Node("", [])
        source = "|".join(a.source if a else "" for a in alternatives)
        return _Node(f"(?:{source})", [("branch", [a.ops if a else [] for a in alternatives])])

    def sequence(self) -> _Node | None:
        nodes: list[_Node] = []
        while True:
            ch = self.peek()
            if ch == 0x28:  # (
                group = self.group0()
                if group is not None:
                    nodes.append(group)
                continue
            if ch == 0x5B:  # [
                node = _char_node(self.clazz(True))
            elif ch == 0x5C:  # \
                ch = self.next_escaped()
                if ch in (0x70, 0x50):  # p P
                    one_letter = True
                    comp = ch == 0x50
                    if self.next() != 0x7B:
                        self.unread()
                    else:
                        one_letter = False
                    node = _char_node(self.family(one_letter, comp))
                else:
                    self.unread()
                    node = self.atom()
            elif ch == 0x5E:  # ^
                self.next()
                node = _Node(self._caret(), [])
            elif ch == 0x24:  # $
                self.next()
                node = _Node(self._dollar(self.has(MULTILINE)), [])
            elif ch == 0x2E:  # .
                self.next()
                if self.has(DOTALL):
                    predicate = ALL
                elif self.has(UNIX_LINES):
                    predicate = "^\\u000a"
                else:
                    predicate = "^" + LINE_TERMINATORS
                node = _char_node(predicate)
            elif ch in (0x7C, 0x29):  # | )
                break
            elif ch in (0x3F, 0x2A, 0x2B):  # ? * +
                self.next()
                raise self.error(f"Dangling meta character '{chr(ch)}'")
            elif ch == 0 and self.cursor >= self.pattern_length:
                break
            else:
                node = self.atom()
            nodes.append(self.closure(node))
        if not nodes:
            return None
        if len(nodes) == 1:
            return nodes[0]
        return _Node("".join(n.source for n in nodes), [op for n in nodes for op in n.ops])

    def atom(self) -> _Node:
        """A literal character or escape (Java groups runs of them in a slice; a quantifier
        after a run applies to its last character, as it does here)."""
        ch = self.peek()
        if ch == 0x7B:  # a quantifier with nothing before it: Java's empty slice
            return _Node("", [])
        if ch == 0x5C:
            ch = self.escape(False, True, False)
            if ch < 0:
                return self.root
        else:
            self.next()
        return self._single_node(ch)

    def _single_node(self, ch: int) -> _Node:
        return _char_node(self.single(ch))

    # -- escapes
    def ref(self, ref_num: int) -> _Node:
        while True:
            ch = self.peek()
            if not _is_ascii_digit(ch):
                break
            new_ref = ref_num * 10 + (ch - 0x30)
            if self.capturing_count - 1 < new_ref:
                break
            ref_num = new_ref
            self.read()
        return self._backref(ref_num)

    def _backref(self, number: int) -> _Node:
        if self.total_groups is not None and number > self.total_groups:
            return _Node("(?!)", [("backref",)])
        if self.has(CASE_INSENSITIVE):
            if not self.has(UNICODE_CASE) and self.total_groups is not None:
                # Java compares ASCII letters only; regex cannot fold ASCII alone in part of
                # a pattern, and a silently different trigger is worse than a refusal.
                self._unsupported(
                    "A case-insensitive back reference is supported with (?iu) only "
                    "(Java's (?i) folds ASCII letters alone)",
                    self.cursor - 1,
                )
            return _Node(f"(?i-f:\\g<{number}>)", [("backref",)])
        return _Node(f"\\g<{number}>", [("backref",)])

    def escape(self, inclass: bool, create: bool, isrange: bool) -> int:
        ch = self.skip()
        u = self.has(UNICODE_CHARACTER_CLASS)
        c = chr(ch)
        if c == "0":
            return self.o()
        if c in "123456789":
            if not inclass:
                if create:
                    self.root = self.ref(ch - 0x30)
                return -1
        elif c == "A" and not inclass:
            self.root = _Node("\\A", [])
            return -1
        elif c in "bB" and not inclass:
            if c == "b" and self.peek() == 0x7B:
                if self.skip() == 0x67:  # \b{g}
                    if self.read() == 0x7D:
                        self._unsupported(
                            "The grapheme cluster boundary \\b{g} is not supported", self.cursor - 1
                        )
                        self.root = _Node("", [])
                        return -1
                    raise self.error("Illegal/unsupported escape sequence")
                self.unread()
                self.unread()
            self.root = _Node(self._bound(c == "b", u), [])
            return -1
        elif c in "dD":
            self.predicate = DIGIT if u else ASCII_DIGIT
            return self._class_escape(c == "D", inclass)
        elif c == "G" and not inclass:
            self.root = _Node("\\G", [])
            return -1
        elif c in "hH":
            self.predicate = HORIZ_WS
            return self._class_escape(c == "H", inclass)
        elif c == "N":
            return self.named_char()
        elif c == "R" and not inclass:
            self.root = _Node(LINEBREAK, [("fixed", 1, 2)])
            return -1
        elif c in "sS":
            self.predicate = WHITE_SPACE if u else ASCII_SPACE
            return self._class_escape(c == "S", inclass)
        elif c == "V":
            self.predicate = VERT_WS
            return self._class_escape(True, inclass)
        elif c in "wW":
            self.predicate = WORD if u else ASCII_WORD
            return self._class_escape(c == "W", inclass)
        elif c == "X" and not inclass:
            self.root = _Node("\\X", [("grapheme",)])
            return -1
        elif c == "Z" and not inclass:
            self.root = _Node(self._dollar(False), [])
            return -1
        elif c == "a":
            return 0x07
        elif c == "c":
            if self.cursor < self.pattern_length:
                return self.read() ^ 64
            raise self.error("Illegal control escape sequence")
        elif c == "e":
            return 0x1B
        elif c == "f":
            return 0x0C
        elif c == "k" and not inclass:
            if self.read() != 0x3C:
                raise self.error("\\k is not followed by '<' for named capturing group")
            name = self.groupname(self.read())
            if name not in self.named:
                raise self.error(f"named capturing group <{name}> does not exist")
            if create:
                self.root = self._backref(self.named[name])
            return -1
        elif c == "n":
            return 0x0A
        elif c == "r":
            return 0x0D
        elif c == "t":
            return 0x09
        elif c == "u":
            return self.u()
        elif c == "v":
            if isrange:
                return 0x0B
            self.predicate = VERT_WS
            return self._class_escape(False, inclass)
        elif c == "x":
            return self.x()
        elif c == "z" and not inclass:
            self.root = _Node("\\Z", [])
            return -1
        elif not _is_ascii_alnum(ch):
            return ch
        raise self.error("Illegal/unsupported escape sequence")

    def _class_escape(self, negate: bool, inclass: bool) -> int:
        if negate:
            self.predicate = _neg(self.predicate)
        if not inclass:
            self.root = _char_node(self.predicate)
        return -1

    def o(self) -> int:
        n = self.read()
        if 0x30 <= n <= 0x37:
            m = self.read()
            if 0x30 <= m <= 0x37:
                o = self.read()
                if 0x30 <= o <= 0x37 and 0x30 <= n <= 0x33:
                    return (n - 0x30) * 64 + (m - 0x30) * 8 + (o - 0x30)
                self.unread()
                return (n - 0x30) * 8 + (m - 0x30)
            self.unread()
            return n - 0x30
        raise self.error("Illegal octal escape sequence")

    def x(self) -> int:
        n = self.read()
        if _is_hex(n):
            m = self.read()
            if _is_hex(m):
                return int(chr(n) + chr(m), 16)
        elif n == 0x7B and _is_hex(self.peek()):
            value = 0
            while _is_hex(n := self.read()):
                value = (value << 4) + int(chr(n), 16)
                if value > MAX_CODE_POINT:
                    raise self.error("Hexadecimal codepoint is too big")
            if n != 0x7D:
                raise self.error("Unclosed hexadecimal escape sequence")
            return value
        raise self.error("Illegal hexadecimal escape sequence")

    def uxxxx(self) -> int:
        n = 0
        for _ in range(4):
            ch = self.read()
            if not _is_hex(ch):
                raise self.error("Illegal Unicode escape sequence")
            n = n * 16 + int(chr(ch), 16)
        return n

    def u(self) -> int:
        n = self.uxxxx()
        if 0xD800 <= n <= 0xDBFF:
            cur = self.cursor
            if self.read() == 0x5C and self.read() == 0x75:
                n2 = self.uxxxx()
                if 0xDC00 <= n2 <= 0xDFFF:
                    return 0x10000 + ((n - 0xD800) << 10) + (n2 - 0xDC00)
            self.cursor = cur
        return n

    def named_char(self) -> int:
        if self.read() == 0x7B:
            i = self.cursor
            while self.read() != 0x7D:
                if self.cursor >= self.pattern_length:
                    raise self.error("Unclosed character name escape sequence")
            name = "".join(chr(c) for c in self.temp[i : self.cursor - 1])
            try:
                return ord(unicodedata.lookup(name))
            except KeyError:
                raise self.error(f"Unknown character name [{name}]") from None
        raise self.error("Illegal character name escape sequence")

    # -- character classes
    def clazz(self, consume: bool) -> str:
        prev: str | None = None
        curr: str | None = None
        bits: set[int] = set()
        is_neg = has_bits = False
        ch = self.next()
        if ch == 0x5E and self.temp[self.cursor - 1] == 0x5B:
            ch = self.next()
            is_neg = True
        while True:
            if ch == 0x5B:
                curr = self.clazz(True)
                prev = curr if prev is None else prev + curr
                ch = self.peek()
                continue
            if ch == 0x26:
                ch = self.next()
                if ch == 0x26:
                    ch = self.next()
                    right: str | None = None
                    while ch not in (0x5D, 0x26):
                        if ch == 0x5B:
                            item = self.clazz(True)
                        else:
                            self.unread()
                            item = self.clazz(False)
                        right = item if right is None else right + item
                        ch = self.peek()
                    if has_bits:
                        prev = curr = _chars(bits) if prev is None else prev + _chars(bits)
                        bits = set()
                        has_bits = False
                    if right is not None:
                        curr = right
                    if prev is None:
                        if right is None:
                            raise self.error("Bad class syntax")
                        prev = right
                    else:
                        if curr is None:
                            raise self.error("Bad intersection syntax")
                        prev = _and(prev, curr)
                    continue
                self.unread()
            elif ch == 0:
                if self.cursor >= self.pattern_length:
                    raise self.error("Unclosed character class")
            elif ch == 0x5D and (prev is not None or has_bits):
                if consume:
                    self.next()
                if prev is None:
                    prev = _chars(bits) or NOTHING
                elif has_bits:
                    prev += _chars(bits)
                return _neg(prev) if is_neg else prev
            curr = self.range(bits)
            if curr is None:
                has_bits = True
            else:
                prev = curr if prev is None else prev + curr
            ch = self.peek()

    def bits_or_single(self, bits: set[int], ch: int) -> str | None:
        iu = self.has(CASE_INSENSITIVE) and self.has(UNICODE_CASE)
        if ch < 256 and not (
            iu and ch in (0xFF, 0xB5, 0x49, 0x69, 0x53, 0x73, 0x4B, 0x6B, 0xC5, 0xE5)
        ):
            if self.has(CASE_INSENSITIVE):
                if ch < 128:
                    bits.update((_ascii_upper(ch), _ascii_lower(ch)))
                elif self.has(UNICODE_CASE):
                    bits.update((_jlower(ch), _jupper(ch)))
            bits.add(ch)
            return None
        return self.single(ch)

    def single(self, ch: int) -> str:
        if self.has(CASE_INSENSITIVE):
            if self.has(UNICODE_CASE):
                upper = _jupper(ch)
                lower = _jlower(upper)
                if upper != lower:
                    return _chars(_fold_class(lower))
            elif ch < 128:
                lower, upper = _ascii_lower(ch), _ascii_upper(ch)
                if lower != upper:
                    return _chars({lower, upper})
        return _lit(ch)

    def range(self, bits: set[int]) -> str | None:
        ch = self.peek()
        if ch == 0x5C:
            ch = self.next_escaped()
            if ch in (0x70, 0x50):
                comp = ch == 0x50
                one_letter = True
                if self.next() != 0x7B:
                    self.unread()
                else:
                    one_letter = False
                return self.family(one_letter, comp)
            isrange = self.temp[self.cursor + 1] == 0x2D
            self.unread()
            ch = self.escape(True, True, isrange)
            if ch == -1:
                return self.predicate
        else:
            self.next()
        if ch >= 0:
            if self.peek() == 0x2D:
                end_range = self.temp[self.cursor + 1]
                if end_range == 0x5B:
                    return self.bits_or_single(bits, ch)
                if end_range != 0x5D:
                    self.next()
                    m = self.peek()
                    if m == 0x5C:
                        m = self.escape(True, False, True)
                    else:
                        self.next()
                    if m < ch:
                        raise self.error("Illegal character range")
                    if self.has(CASE_INSENSITIVE):
                        return self._ci_range(ch, m)
                    return _rng(ch, m)
            return self.bits_or_single(bits, ch)
        raise self.error(f"Unexpected character '{chr(ch)}'")

    def _ci_range(self, lo: int, hi: int) -> str:
        extra: set[int] = set()
        if self.has(UNICODE_CASE):
            for c, up, fold in _case_table():
                if lo <= up <= hi or lo <= fold <= hi:
                    extra.add(c)
        else:
            for c in range(128):
                if lo <= _ascii_upper(c) <= hi or lo <= _ascii_lower(c) <= hi:
                    extra.add(c)
        return _rng(lo, hi) + _chars({c for c in extra if not lo <= c <= hi})

    def family(self, single_letter: bool, is_complement: bool) -> str:
        self.next()
        if single_letter:
            name = chr(self.temp[self.cursor])
            self.read()
        else:
            i = self.cursor
            self.temp[self.pattern_length] = 0x7D
            while self.read() != 0x7D:
                pass
            self.temp[self.pattern_length] = 0
            j = self.cursor
            if j > self.pattern_length:
                raise self.error("Unclosed character family")
            if i + 1 >= j:
                raise self.error("Empty character family")
            name = "".join(chr(c) for c in self.temp[i : j - 1])
        case_ins = self.has(CASE_INSENSITIVE)
        p: str | None = None
        if "=" in name:
            key, value = name.split("=", 1)
            key = key.lower()
            if key in ("sc", "script"):
                p = _for_script(value)
            elif key in ("blk", "block"):
                p = _for_block(value)
            elif key in ("gc", "general_category"):
                p = _for_property(value, case_ins)
            if p is None:
                raise self.error(f"Unknown Unicode property {{name=<{key}>, value=<{value}>}}")
        else:
            if name.startswith("In"):
                p = _for_block(name[2:])
            elif name.startswith("Is"):
                short = name[2:]
                p = _for_unicode_property(short, case_ins)
                if p is None:
                    p = _for_property(short, case_ins)
                if p is None:
                    p = _for_script(short)
            else:
                if self.has(UNICODE_CHARACTER_CLASS):
                    p = _posix(name.upper(), case_ins)
                if p is None:
                    p = _for_property(name, case_ins)
            if p is None:
                raise self.error(f"Unknown character property name {{{name}}}")
        return _neg(p) if is_complement else p

    # -- groups
    def groupname(self, ch: int) -> str:
        if not _is_ascii_alpha(ch):
            raise self.error("capturing group name does not start with a Latin letter")
        name = [chr(ch)]
        while _is_ascii_alnum(ch := self.read()):
            name.append(chr(ch))
        if ch != 0x3E:
            raise self.error("named capturing group is missing trailing '>'")
        return "".join(name)

    def group0(self) -> _Node | None:
        save = self.flags
        ch = self.next()
        look = ""  # "ahead" or "behind", for a look-around
        negative = False
        if ch == 0x3F:
            ch = self.skip()
            c = chr(ch)
            if c == ":":
                head = "(?:"
            elif c in ("=", "!"):
                head, look, negative = f"(?{c}", "ahead", c == "!"
            elif c == ">":
                head = "(?>"
                self._refuse_in_lookbehind("An atomic group")
            elif c == "<":
                ch = self.read()
                if ch not in (0x3D, 0x21):
                    name = self.groupname(ch)
                    if name in self.named:
                        raise self.error(f"Named capturing group <{name}> is already defined")
                    self._capturing()
                    self.named[name] = self.capturing_count
                    self.capturing_count += 1
                    head = f"(?P<{name}>"
                else:
                    head, look, negative = ("(?<=" if ch == 0x3D else "(?<!"), "behind", ch == 0x21
            elif c in ("$", "@"):
                raise self.error("Unknown group type")
            else:
                self.unread()
                self.add_flag()
                ch = self.read()
                if ch == 0x29:
                    return None  # flags only: they last to the end of the enclosing group
                if ch != 0x3A:
                    raise self.error("Unknown inline modifier")
                head = "(?:"
        else:
            self._capturing()
            self.capturing_count += 1
            head = "("
        groups_before = self.capturing_count
        capturing = head == "(" or head.startswith("(?P<")
        self.negative_depth += negative
        self.lookbehind_depth += look == "behind"
        body = self.expr()
        self.negative_depth -= negative
        self.lookbehind_depth -= look == "behind"
        guard = ""
        if look == "behind":
            info = _study(body.ops, _Info())
            if not info.max_valid:
                raise self.error("Look-behind group does not have an obvious maximum length")
            if self.capturing_count != groups_before and not (
                info.deterministic and info.min_length == info.max_length
            ):
                # Java tries the shortest start first and matches forwards; regex matches
                # backwards: the same look-behind, but the groups can capture other text.
                self._unsupported(
                    "A capturing group inside a look-behind of varying length or with "
                    "alternatives is not supported",
                    self.cursor,
                )
            guard = self._lookbehind_guard(info)
        self.accept(0x29, "Unclosed group")
        self.flags = save
        source = f"{head}{body.source})"
        if guard == "never":  # keeps the groups, never runs the body
            source = f"(?:(?!){source})" if head == "(?<=" else f"(?:(?!){source}|)"
        elif guard:  # the look-behind is tried only past that many characters
            source = f"(?:{guard}{source})" if head == "(?<=" else f"(?:(?!{guard})|{source})"
        if look:
            node = _Node(source, [])
        elif head == "(?>":
            node = _Node(source, [("atomic", body.ops)])
        else:
            captures = capturing or self.capturing_count != groups_before
            node = _Node(source, body.ops, "group", captures)
        return self.closure(node)

    def _capturing(self) -> None:
        if self.negative_depth:
            # Java leaves what such a group captured while its look-around failed; regex clears
            # it. Either way the group means nothing, so refuse it rather than differ.
            self._unsupported(
                "A capturing group inside a negative look-around is not supported", self.cursor
            )

    def _refuse_in_lookbehind(self, construct: str) -> None:
        if self.lookbehind_depth:
            # Java runs a look-behind forwards, and a possessive part may run past its end;
            # regex runs it backwards. They differ, so refuse.
            self._unsupported(f"{construct} inside a look-behind is not supported", self.cursor - 1)

    def _lookbehind_guard(self, info: _Info) -> str:
        """Java tries a lookbehind from ``max(i - maxLength, 0)`` to ``i - minLength`` in 32-bit
        arithmetic: a maximum that overflowed makes it try nothing, or everything once ``i`` is
        large enough for the subtraction to wrap again."""
        if info.max_length < 0:
            k = info.max_length + 0x80000000
            if k > self.max_text:
                return "never"
            return f"(?<=(?s:.){{{k}}})" if k else ""
        if info.max_length < info.min_length:
            return "never"
        return ""

    def add_flag(self) -> None:
        ch = self.peek()
        while True:
            c = chr(ch) if ch else ""
            if c == "c":
                self._unsupported("The flag (?c) (CANON_EQ) is not supported", self.cursor)
            if c in _FLAG_LETTERS and c:
                self.flags |= _FLAG_LETTERS[c]
            elif c == "-":
                self.next()
                self.sub_flag()
                return
            else:
                return
            ch = self.next()

    def sub_flag(self) -> None:
        ch = self.peek()
        while True:
            c = chr(ch) if ch else ""
            if c in _FLAG_LETTERS and c:
                self.flags &= ~_FLAG_LETTERS[c]
            else:
                return
            ch = self.next()

    # -- quantifiers
    def qtype(self) -> str:
        ch = self.next()
        if ch == 0x3F:
            self.next()
            return "?"
        if ch == 0x2B:
            self.next()
            return "+"
        return ""

    def closure(self, prev: _Node) -> _Node:
        ch = self.peek()
        if ch == 0x3F:
            kind = self.qtype()
            return self._quantified(prev, "?", kind, self._ops_optional(prev, kind))
        if ch in (0x2A, 0x2B):
            cmin = 0 if ch == 0x2A else 1
            kind = self.qtype()
            ops = self._ops_unbounded(prev, cmin, kind)
            return self._quantified(prev, "*" if cmin == 0 else "+", kind, ops)
        if ch == 0x7B:
            ch = self.skip()
            if not _is_ascii_digit(ch):
                raise self.error("Illegal repetition")
            cmin = 0
            while True:
                cmin = cmin * 10 + (ch - 0x30)
                if cmin > MAX_REPS:
                    raise self.error("Illegal repetition range")
                ch = self.read()
                if not _is_ascii_digit(ch):
                    break
            if ch == 0x2C:
                ch = self.read()
                if ch == 0x7D:
                    self.unread()
                    kind = self.qtype()
                    ops = self._ops_unbounded(prev, cmin, kind)
                    return self._quantified(prev, f"{{{cmin},}}", kind, ops)
                cmax = 0
                while _is_ascii_digit(ch):
                    cmax = cmax * 10 + (ch - 0x30)
                    if cmax > MAX_REPS:
                        raise self.error("Illegal repetition range")
                    ch = self.read()
            else:
                cmax = cmin
            if ch != 0x7D:
                raise self.error("Unclosed counted closure")
            if cmax < cmin:
                raise self.error("Illegal repetition range")
            self.unread()
            kind = self.qtype()
            if cmin == 0 and cmax == 1:
                return self._quantified(prev, "?", kind, self._ops_optional(prev, kind))
            ops = self._ops_counted(prev, cmin, cmax, kind)
            return self._quantified(prev, f"{{{cmin},{cmax}}}", kind, ops)
        return prev

    @staticmethod
    def _ops_optional(prev: _Node, kind: str) -> list[Op]:
        # Java turns an optional group into a branch (the group, or nothing) unless possessive
        if prev.kind == "group" and kind != "+":
            return [("branch", [prev.ops, []])]
        return [("ques", prev.ops)]

    def _ops_unbounded(self, prev: _Node, cmin: int, kind: str) -> list[Op]:
        if prev.kind == "char" and kind == "":
            return [("chargreedy", cmin)]
        return self._ops_counted(prev, cmin, MAX_REPS, kind)

    @staticmethod
    def _ops_counted(prev: _Node, cmin: int, cmax: int, kind: str) -> list[Op]:
        if prev.kind == "group" and kind != "+" and not _study(prev.ops, _Info()).deterministic:
            return [("loop",)]
        return [("curly", prev.ops, cmin, cmax)]

    def _quantified(self, prev: _Node, quantifier: str, kind: str, ops: list[Op]) -> _Node:
        if kind == "+":
            self._refuse_in_lookbehind("A possessive quantifier")
        if prev.kind == "group" and quantifier != "?":
            self._refuse_empty_repetition(prev, quantifier, kind)
        # Java repeats anything but a group (``\\R``, a back reference) with Curly or Ques,
        # which take each repetition's first match and never backtrack into it; a possessive
        # quantifier does the same to a group. That is an atomic group per repetition.
        source = prev.source
        if source == LINEBREAK:
            source = LINEBREAK_ONCE
        elif prev.kind != "char" and (prev.kind != "group" or kind == "+"):
            source = f"(?>{source})"
        if quantifier.startswith("{"):
            low, _, high = quantifier[1:-1].partition(",")
            source = self._counted(prev, source, int(low), high, kind)
        else:
            source += quantifier + kind
        return _Node(source, ops)

    def _refuse_empty_repetition(self, prev: _Node, quantifier: str, kind: str) -> None:
        """Java and regex keep different captures from a repetition that matched nothing: Java
        keeps a possessive one's and drops a fixed-length group's extra ones, regex the other
        way round. Refuse those groups rather than capture something else."""
        info = _study(prev.ops, _Info())
        if info.min_length != 0:
            return
        low = quantifier.strip("{}").partition(",")[0]
        if kind != "+" and not info.deterministic and quantifier.startswith("{") and int(low) > 1:
            # Java's Loop ends at the first repetition that matched nothing, even below the
            # minimum; regex goes on repeating
            self._unsupported(
                "A group repeated at least twice that can match nothing is not supported",
                self.cursor - 1,
            )
        if not prev.captures:
            return
        # Java drops the capture of a repetition past the minimum that matched nothing
        from_zero = quantifier in ("*", "{0,}") or (quantifier.startswith("{") and low == "0")
        if kind == "+" or (info.deterministic and from_zero):
            self._unsupported(
                "A repeated capturing group that can match nothing is not supported",
                self.cursor - 1,
            )

    def _counted(self, prev: _Node, atom: str, low: int, high: str, kind: str) -> str:
        """``atom{low,high}``. regex unrolls a minimum count (Java does not): above the longest
        text a pattern runs on, an atom that consumes a character can never repeat enough."""
        if low > self.max_text:
            if _study(prev.ops, _Info()).min_length > 0:
                return "(?!)"
            self._unsupported(
                f"A repetition of at least {low} of something that can match nothing "
                "is not supported",
                self.cursor - 1,
            )
            return "(?!)"
        return f"{atom}{{{low},{high}}}{kind}"

    # -- anchors and boundaries
    def _caret(self) -> str:
        if not self.has(MULTILINE):
            return "\\A"
        if self.has(UNIX_LINES):
            return "(?:(?=(?s:.))(?:\\A|(?<=\\u000a)))"
        return "(?:(?=(?s:.))(?:\\A|(?<=[\\u000a\\u0085\\u2028\\u2029])|(?<=\\u000d)(?!\\u000a)))"

    def _dollar(self, multiline: bool) -> str:
        if self.has(UNIX_LINES):
            return "(?=\\u000a|\\Z)" if multiline else "(?=\\u000a?\\Z)"
        if multiline:
            return "(?:(?<!\\u000d)(?=\\u000a)|(?=[\\u000d\\u0085\\u2028\\u2029])|\\Z)"
        return (
            "(?:(?=\\u000d\\u000a\\Z)|(?=[\\u000d\\u0085\\u2028\\u2029]\\Z)"
            "|(?<!\\u000d)(?=\\u000a\\Z)|\\Z)"
        )

    @staticmethod
    def _bound(word_boundary: bool, unicode_word: bool) -> str:
        """Java 17's ``\\b``: a word character is a letter, a digit or ``_`` (``\\w`` under
        ``(?U)``), and a non-spacing mark after a letter or digit counts as one."""
        word = WORD if unicode_word else LETTER_OR_DIGIT + "_"
        # (the cheap one-character test first: the marks' look-behind runs only after a mark)
        left = f"(?<=[{word}])|(?<=\\p{{Mn}})(?<=[{LETTER_OR_DIGIT}]\\p{{Mn}}+)"
        right = f"(?=[{word}])|(?=\\p{{Mn}})(?<=[{LETTER_OR_DIGIT}]\\p{{Mn}}*)"
        if word_boundary:
            return f"(?:(?:{left})(?!{right})|(?!{left})(?:{right}))"
        return f"(?:(?:{left})(?:{right})|(?!{left})(?!{right}))"
