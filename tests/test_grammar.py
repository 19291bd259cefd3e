"""The grammar itself: conflict-free LALR, a lexer that accepts anything, and
a word for every terminal in syntax error messages."""

from pathlib import Path

import pytest
from lark import Lark

from cnndsl.resources import resource_dir
from cnndsl.syntax.parser import TERMINAL_WORDS, _parser

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR = (resource_dir("grammar") / "cnn.lark").read_text()


def test_grammar_has_no_lalr_conflicts():
    # strict=True turns shift/reduce conflicts (and terminal collisions) into errors.
    Lark(GRAMMAR, parser="lalr", lexer="basic", strict=True)


def test_every_terminal_has_words_for_messages():
    terminals = {t.name for t in _parser().terminals}
    missing = {t for t in terminals if t not in TERMINAL_WORDS and t not in ("WS", "COMMENT")}
    assert not missing


@pytest.mark.parametrize("path", sorted(ROOT.glob("examples/**/*.cnn")), ids=lambda p: p.name)
def test_examples_lex_without_stray_characters(path):
    tokens = list(_parser().lex(path.read_text()))
    assert tokens
    assert not [t for t in tokens if t.type == "STRAY"]
    sizes = [t for t in tokens if t.type == "WORD" and "x" in t and t[0].isdigit()]
    assert all(all(part.isdigit() for part in t.split("x")) for t in sizes)


def test_lexer_accepts_any_text():
    text = "".join(chr(c) for c in range(0, 0x250)) + "\u2028\u00a0\ufeff\U0001f600"
    types = {t.type for t in _parser().lex(text)}
    assert "STRAY" in types
