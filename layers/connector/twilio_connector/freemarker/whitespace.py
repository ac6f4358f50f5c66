"""FreeMarker's white-space stripping (its ``TextBlock.postParseCleanup``), on the parsed tree.

A line holding only directives or comments (and white-space) leaves no trace: its indentation
and its line break are removed. ``<#t>``, ``<#lt>`` and ``<#rt>`` trim a line on purpose,
``<#nt>`` keeps it. White-space-only text between two elements that print nothing (``<#assign>``,
``<#macro>``, ``<#setting>``, comments) is dropped. Interpolations and other text on a line keep
its white-space."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

from twilio_connector.freemarker import tree as t

_NON_OUTPUTTING = (t.Macro, t.Assign, t.Setting, t.Comment)
_NEWLINE = re.compile(r"\r\n|\n|\r")


def strip_whitespace(root: t.Block, source: str) -> None:
    _Stripper(root, source).run()


class _Stripper:
    def __init__(self, root: t.Block, source: str) -> None:
        self.root = root
        self.line_starts = [0] + [m.end() for m in _NEWLINE.finditer(source)]
        self.parent: dict[int, tuple[t.Element, int]] = {}
        self.texts: list[t.Text] = []
        self._index(root)

    def _index(self, node: t.Element) -> None:
        for k, kid in enumerate(node.kids()):
            self.parent[id(kid)] = (node, k)
            if isinstance(kid, t.Text):
                self.texts.append(kid)
            self._index(kid)

    def run(self) -> None:
        first_column = {id(n): self.column_one(n.pos) for n in self.texts}
        for node in sorted(self.texts, key=lambda n: n.pos):
            self.strip(node, first_column[id(node)])
        self.remove_ignorable(self.root)

    # positions
    def line(self, pos: int) -> int:
        return bisect.bisect_right(self.line_starts, pos)

    def column_one(self, pos: int) -> bool:
        return self.line_starts[self.line(pos) - 1] == pos

    def begin_line(self, node: t.Element) -> int:
        return self.line(node.pos)

    def end_line(self, node: t.Element) -> int:
        return self.line(max(node.end - 1, node.pos))

    # navigation over the leaves, in document order
    @staticmethod
    def is_leaf(node: t.Element) -> bool:
        return not node.kids() or isinstance(node, t.Macro | t.CaptureAssign)

    def sibling(self, node: t.Element, step: int) -> t.Element | None:
        found = self.parent.get(id(node))
        if found is None:
            return None
        kids = found[0].kids()
        k = found[1] + step
        return kids[k] if 0 <= k < len(kids) else None

    def neighbour_leaf(self, node: t.Element, step: int) -> t.Element | None:
        while True:
            near = self.sibling(node, step)
            if near is not None:
                while not self.is_leaf(near):
                    near = near.kids()[-1 if step < 0 else 0]
                return near
            found = self.parent.get(id(node))
            if found is None or found[0] is self.root:
                return None
            node = found[0]

    def before_on_line(self, node: t.Element) -> Iterator[t.Element]:
        line = self.begin_line(node)
        leaf = self.neighbour_leaf(node, -1)
        while leaf is not None and self.end_line(leaf) == line:
            yield leaf
            leaf = self.neighbour_leaf(leaf, -1)

    def after_on_line(self, node: t.Element) -> Iterator[t.Element]:
        line = self.end_line(node)
        leaf = self.neighbour_leaf(node, 1)
        while leaf is not None and self.begin_line(leaf) == line:
            yield leaf
            leaf = self.neighbour_leaf(leaf, 1)

    # what keeps a line's white-space
    def heeds(self, node: t.Element, from_end: bool) -> bool:
        """Does ``node`` (before the text when ``from_end``, after it otherwise) print something
        on the shared line?"""
        if isinstance(node, t.Interpolation | t.NumericInterpolation):
            return True
        if not isinstance(node, t.Text) or self.ignorable(node):
            return False
        for ch in reversed(node.text) if from_end else node.text:
            if ch in "\r\n":
                return False
            if not ch.isspace():
                return True
        return True

    def ignorable(self, node: t.Text) -> bool:
        if not node.text:
            return True
        if node.text.strip():
            return False
        top = self.parent.get(id(node), (self.root,))[0] is self.root
        prev, nxt = self.sibling(node, -1), self.sibling(node, 1)
        return ((prev is None and top) or isinstance(prev, _NON_OUTPUTTING)) and (
            (nxt is None and top) or isinstance(nxt, _NON_OUTPUTTING)
        )

    # the stripping itself
    def strip(self, node: t.Text, column_one: bool) -> None:
        left_trimmed = self.deliberate_left_trim(node, column_one)
        right_trimmed = self.deliberate_right_trim(node)
        top = self.parent.get(id(node), (self.root,))[0] is self.root
        if top and self.sibling(node, -1) is None:
            return  # the template's first text keeps its white-space
        tail = 0 if left_trimmed else self.trailing_to_strip(node, column_one)
        head = 0 if right_trimmed else self.opening_to_strip(node)
        if head or tail:
            node.text = node.text[head : len(node.text) - tail]

    def deliberate_left_trim(self, node: t.Text, column_one: bool) -> bool:
        """``<#t>``/``<#lt>`` later on the text's last line: strip that line's indentation."""
        trimmed = False
        for leaf in self.after_on_line(node):
            if not isinstance(leaf, t.Trim):
                continue
            trimmed = True
            if leaf.left:
                text = node.text
                last = max(text.rfind("\n"), text.rfind("\r"))
                if last >= 0 or column_one:
                    head, last_line = text[: last + 1], text[last + 1 :]
                    node.text = head + last_line.lstrip() if last_line.strip() else head
        return trimmed

    def deliberate_right_trim(self, node: t.Text) -> bool:
        """``<#t>``/``<#rt>`` earlier on the text's first line: strip the rest of that line."""
        trimmed = False
        for leaf in self.before_on_line(node):
            if not isinstance(leaf, t.Trim):
                continue
            trimmed = True
            if leaf.right:
                first = _first_line_end(node.text)
                if first == 0:
                    return trimmed
                opening, rest = node.text[:first], node.text[first:]
                node.text = rest if not opening.strip() else opening.rstrip() + rest
        return trimmed

    def opening_to_strip(self, node: t.Text) -> int:
        first = _first_line_end(node.text)
        if first == 0 or node.text[:first].strip():
            return 0
        if any(self.heeds(leaf, from_end=True) for leaf in self.before_on_line(node)):
            return 0
        return first

    def trailing_to_strip(self, node: t.Text, column_one: bool) -> int:
        text = node.text
        last = max(text.rfind("\n"), text.rfind("\r"))
        if last < 0 and not column_one:
            return 0
        tail = text[last + 1 :]
        if tail.strip():
            return 0
        if any(self.heeds(leaf, from_end=False) for leaf in self.after_on_line(node)):
            return 0
        return len(tail)

    def remove_ignorable(self, node: t.Element) -> None:
        for kid in node.kids():
            self.remove_ignorable(kid)
        body = getattr(node, "body", None)
        if body:
            body[:] = [k for k in body if not (isinstance(k, t.Text) and self.ignorable(k))]


def _first_line_end(text: str) -> int:
    """The index just past the text's first line break, or 0 when it has none."""
    match = _NEWLINE.search(text)
    return match.end() if match else 0
