"""The study pass: Pattern.TreeInfo and the ``study(TreeInfo)`` methods of Pattern.java's node
classes (``Node``, ``CharProperty``, ``Curly``, ``Ques``, ``Branch``, ``BackRef``, ``Loop``...),
which a look-behind (``Behind``/``NotBehind``) uses for its minimum and maximum length.
"""

from __future__ import annotations

from twilio_connector.java_regex.flags import MAX_REPS

# --- lookbehind lengths (Pattern.TreeInfo) --------------------------------------------------------
# Java decides whether a look-behind is bounded, and where it starts trying, by "studying" its
# node chain with int arithmetic that can overflow. A node is studied as a list of ops, in chain
# order, with Java's quirks: a branch studies the rest of the chain from a reset TreeInfo and adds
# its own lengths afterwards; a greedy char repetition adds 2**31 - 1 without invalidating.
Op = tuple


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - 0x100000000 if value & 0x80000000 else value


class _Info:
    """Pattern.TreeInfo."""

    __slots__ = ("deterministic", "max_length", "max_valid", "min_length")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.min_length = 0
        self.max_length = 0
        self.max_valid = True
        self.deterministic = True


def _study(ops: list[Op], info: _Info) -> _Info:
    """Study a chain of ops into ``info`` (Java's ``node.study(info)``)."""
    pending: list[tuple[int, int, bool]] = []  # branches waiting for the rest of the chain
    for op in ops:
        kind = op[0]
        if kind == "fixed":
            info.min_length = _int32(info.min_length + op[1])
            info.max_length = _int32(info.max_length + op[2])
        elif kind == "grapheme":
            info.min_length = _int32(info.min_length + 1)
            info.deterministic = False
        elif kind == "backref":
            info.max_valid = False
        elif kind == "chargreedy":
            info.min_length = _int32(info.min_length + op[1])
            if info.max_valid:
                info.max_length = _int32(info.max_length + MAX_REPS)
            info.deterministic = False
        elif kind == "atomic":
            _study(op[1], info)
        elif kind == "ques":
            min_l = info.min_length
            _study(op[1], info)
            info.min_length = min_l
            info.deterministic = False
        elif kind == "curly":
            _study_curly(op[1], op[2], op[3], info)
        elif kind == "loop":
            info.max_valid = False
            info.deterministic = False
        elif kind == "branch":
            min_2, max_2, max_v = 0x7FFFFFFF, -1, info.max_valid
            for alternative in op[1]:
                branch_info = _Info()
                _study(alternative, branch_info)
                min_2 = min(min_2, branch_info.min_length)
                max_2 = max(max_2, branch_info.max_length)
                max_v = max_v and branch_info.max_valid
            pending.append(
                (_int32(info.min_length + min_2), _int32(info.max_length + max_2), max_v)
            )
            info.reset()
    for min_l, max_l, max_v in reversed(pending):
        info.min_length = _int32(info.min_length + min_l)
        info.max_length = _int32(info.max_length + max_l)
        info.max_valid = info.max_valid and max_v
        info.deterministic = False
    return info


def _study_curly(atom: list[Op], cmin: int, cmax: int, info: _Info) -> None:
    min_l, max_l = info.min_length, info.max_length
    max_v, detm = info.max_valid, info.deterministic
    info.reset()
    _study(atom, info)
    temp = _int32(info.min_length * cmin + min_l)
    info.min_length = 0xFFFFFFF if temp < min_l else temp
    if max_v and info.max_valid:
        temp = _int32(info.max_length * cmax + max_l)
        info.max_length = temp
        if temp < max_l:
            info.max_valid = False
    else:
        info.max_valid = False
    info.deterministic = detm if info.deterministic and cmin == cmax else False
