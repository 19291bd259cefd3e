"""Numbers in scientific notation (`1e-6`, `2.5E+3`) are one word wherever a decimal is due.

The lexer (grammar/cnn.lark's WORD), the word counter of E0063
(syntax/recovery.py), the value reader (layers/values.py), the formatter and
the incremental parser all see `1e-6` as one number; the VS Code grammar's
number pattern is generated from the value reader's (tests/test_lsp_grammar.py
tokenizes it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cnndsl
from cnndsl.formatter import format_source
from cnndsl.layers.values import DECIMAL
from cnndsl.syntax.grammar import tokens
from cnndsl.syntax.incremental import ParseCache
from cnndsl.syntax.nodes import KeywordArg

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("word", ["1e-6", "1E-6", "2.5e-4", "1e+3", ".5e-2", "3.e-1", "-1e-6", "+2e-3", "1e6", "2.5e4"])
def test_a_number_in_scientific_notation_is_one_word(word):
    found = [t for t in tokens(f"dropout {word}\n") if t.type == "WORD"]
    assert [str(t) for t in found] == ["dropout", word]
    assert DECIMAL.match(word)


@pytest.mark.parametrize(
    "text,words",
    [
        # A word character after the exponent: not a number, cut as before (the checker reports it).
        ("1e-6x", ["1e", "-6x"]),
        ("1e-6.5", ["1e", "-6.5"]),
        ("e-6", ["e", "-6"]),
        ("k1e-3", ["k1e", "-3"]),
        ("s2x1", ["s2x1"]),
    ],
)
def test_other_words_lex_as_before(text, words):
    assert [str(t) for t in tokens(text) if t.type == "WORD"] == words


def test_a_keyword_argument_takes_the_whole_number():
    program = cnndsl.check_program("input 8x8x3\nbn eps=1e-3 momentum=1E-2\ndropout 5e-1\n", "x.cnn")
    assert program.ok, program.diagnostics
    assert [layer.module for layer in program.layers] == ["nn.BatchNorm2d(3, eps=0.001, momentum=0.01)", "nn.Dropout(0.5)"]
    statement = program.syntax.statements[1]
    assert [(arg.key.text, arg.value.text) for arg in statement.args if isinstance(arg, KeywordArg)] == [
        ("eps", "1e-3"),
        ("momentum", "1E-2"),
    ]


def test_a_malformed_exponent_is_a_diagnostic_not_a_crash():
    program = cnndsl.check_program("input 8x8x3\ndropout 1e-6x\n", "x.cnn")
    assert not program.ok and program.diagnostics[0].code in {"E0011", "E0013"}


def test_the_formatter_keeps_the_number_whole():
    text = "input 8x8x3\nbn   eps = 1e-6   momentum=1E-2\ndropout  2.5e-1\n"
    assert format_source(text) == "input 8x8x3\nbn eps=1e-6 momentum=1E-2\ndropout 2.5e-1\n"


def test_the_incremental_parse_equals_a_full_parse_around_an_exponent():
    cache = ParseCache()
    before = "input 8x8x3\nbn eps=1e-3\nrelu\n"
    after = "input 8x8x3\nbn eps=1e-6 momentum=1e-2\nrelu\n"
    for text in (before, after, before):
        cached = cnndsl.check_program(text, "x.cnn", parse_cache=cache)
        full = cnndsl.check_program(text, "x.cnn")
        assert [layer.module for layer in cached.layers] == [layer.module for layer in full.layers]
        assert cached.diagnostics == full.diagnostics


def test_the_vscode_number_pattern_is_the_value_readers():
    from cnndsl.layers.values import DECIMAL_PATTERN

    grammar = json.loads((ROOT / "editors" / "vscode" / "syntaxes" / "cnn.tmLanguage.json").read_text())
    patterns = {p["name"]: p["match"] for p in grammar["repository"]["numbers"]["patterns"]}
    assert DECIMAL_PATTERN in patterns["constant.numeric.cnn"]
