"""Regenerate lark_standalone.py, the parser that grammar.py loads, from grammar/cnn.lark.

    python -m cnndsl.syntax.standalone          # rewrite it
    python -m cnndsl.syntax.standalone --check  # exit 1 if it is not what the grammar gives

A development tool: it needs the `lark` package (the dev extra pins the
version the committed file was made with); cnndsl itself runs the generated
file and never imports `lark`. Lark numbers its LALR states in an order that
depends on string hashing and on object addresses; the generator renumbers
them in a canonical order (breadth first from the start state, transitions
by name) and runs with PYTHONHASHSEED=0, so the file is reproducible byte for
byte (tests/test_grammar.py regenerates it and compares).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

TARGET = Path(__file__).with_name("lark_standalone.py")

# What the header of the generated file says, before Lark's own code.
HEADER = (
    "# Generated from grammar/cnn.lark by `python -m cnndsl.syntax.standalone`: do not edit.\n"
    "# Lark's standalone LALR parser (its code is under the Mozilla Public License 2.0,\n"
    "# as the text below says), with the parse tables of the .cnn grammar, and six\n"
    "# edits (cnndsl/syntax/standalone.py, EDITS): no `regex`, no `logging`, no `pickle`,\n"
    "# no `dataclasses` (TextSlice a plain class), `inspect` and `copy` imported when used.\n"
)

_SILENT_LOGGER = """\
class _SilentLogger:
    # cnndsl: Lark's logger is set to CRITICAL and says nothing a parse needs.
    def __getattr__(self, name):
        return _say_nothing


def _say_nothing(*args, **kwargs):
    return None


logger = _SilentLogger()
"""

_LAZY_COPY = """\
def {name}(*args):
    # cnndsl: the `copy` module is imported at the first copy Lark makes.
    import copy as copy_module

    return copy_module.{name}(*args)


"""

# Edits to the text Lark generates, each of which must be found exactly once
# (a Lark release that changes them makes the generator fail, not drift).
# They keep a fresh `cnnc check` from importing what it never uses:
EDITS = (
    # `regex` (imported whenever it is installed) serves grammars with Unicode
    # categories; this one has none, the lexer runs on `re`, and the widths of
    # the terminals' patterns are stored in the tables.
    (
        "try:\n    import regex\n    _has_regex = True\nexcept ImportError:\n    _has_regex = False\n",
        "_has_regex = False  # cnndsl: the grammar has no Unicode categories\n",
    ),
    # `logging` (about 4 ms of imports): Lark logs only while it builds a
    # grammar or a cache, never while it parses.
    ("import logging\n", ""),
    ('logger: logging.Logger = logging.getLogger("lark")\nlogger.addHandler(logging.StreamHandler())\n', _SILENT_LOGGER),
    ("logger.setLevel(logging.CRITICAL)\n", ""),
    # pickle, zlib and base64 serve Lark's cache files and compressed tables;
    # the tables here are a Python literal.
    ("import pickle, zlib, base64\n", ""),
    # `dataclasses` imports `inspect` (with `ast`, `dis`, `tokenize`: about
    # 7 ms) and compiles TextSlice's methods from source (0.5 ms); cnndsl's
    # own configurations do without it (record.DeclaredRecord). TextSlice
    # becomes a plain class with the constructor the dataclass had; Lark
    # only builds and reads slices, it never compares or hashes them.
    ("from dataclasses import dataclass\n", ""),
    (
        "@dataclass(frozen=True)\nclass TextSlice(Generic[AnyStr]):\n    #--\n    text: AnyStr\n    start: int\n    end: int\n",
        "class TextSlice(Generic[AnyStr]):\n"
        '    """A slice of a text (Lark\'s frozen dataclass, a plain class in cnndsl: no `dataclasses`)."""\n'
        "    text: AnyStr\n    start: int\n    end: int\n\n"
        "    def __init__(self, text, start, end):\n"
        "        self.text = text\n        self.start = start\n        self.end = end\n"
        "        self.__post_init__()\n",
    ),
    # `copy` (with `weakref`: about 1 ms) serves Lark's copies of lexer and
    # parser states, which only error recovery's interactive parser makes:
    # imported at the first copy.
    ("from copy import deepcopy\n", _LAZY_COPY.format(name="deepcopy")),
    ("\nfrom copy import copy\n", "\n" + _LAZY_COPY.format(name="copy")),  # (one more is inside a function)
    # `inspect` serves `v_args`, which cnndsl's transformer does not use:
    # imported when it is called.
    ("from inspect import getmembers, getmro\n", ""),
    (
        "        mro = getmro(cls)\n",
        "        from inspect import getmembers, getmro  # cnndsl: imported here, for v_args alone\n"
        "        mro = getmro(cls)\n",
    ),
)


def _edited(text: str) -> str:
    for old, new in EDITS:
        if text.count(old) != 1:
            raise SystemExit(f"Lark's standalone text changed: {old!r} is not there exactly once; update EDITS")
        text = text.replace(old, new)
    return text


def _generate_here() -> str:
    """The file's text, generated in this process (its hash seed decides the state order)."""
    from lark import Lark
    from lark.tools.standalone import gen_standalone

    from ..resources import resource_dir

    grammar = (resource_dir("grammar") / "cnn.lark").read_text(encoding="utf-8")
    # The options grammar.py relied on when it built a Lark object itself.
    parser = Lark(grammar, parser="lalr", lexer="basic", maybe_placeholders=False)
    lalr = parser.parser.parser
    lalr._parse_table = _canonical(lalr._parse_table)
    out = io.StringIO()
    gen_standalone(parser, out=out)
    return HEADER + _edited(out.getvalue())


def _canonical(table):
    """The same LALR table, its states numbered breadth first from the start state.

    Transitions are followed, and every state's actions listed, in the order
    of their symbols' names, so the numbering depends on the grammar alone.
    """
    from lark.parsers.lalr_analysis import IntParseTable, Shift

    (start,) = table.start_states.values()
    order, seen = [start], {start}
    for state in order:  # grows while it is walked
        for symbol in sorted(table.states[state]):
            action, target = table.states[state][symbol]
            if action is Shift and target not in seen:
                seen.add(target)
                order.append(target)
    order += sorted(set(table.states) - seen)  # none in practice: every state is reachable
    number = {state: index for index, state in enumerate(order)}
    states = {
        number[state]: {
            symbol: (action, number[target]) if action is Shift else (action, target)
            for symbol, (action, target) in sorted(table.states[state].items())
        }
        for state in order
    }
    return IntParseTable(
        states,
        {name: number[state] for name, state in table.start_states.items()},
        {name: number[state] for name, state in table.end_states.items()},
    )


def generate() -> str:
    """The file's text as the grammar and the installed Lark give it, reproducibly."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from cnndsl.syntax.standalone import _generate_here; sys.stdout.write(_generate_here())"],
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=True,
    )
    return result.stdout


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = generate()
    if "--check" in argv:
        if TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET} is out of date: run python -m cnndsl.syntax.standalone", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
