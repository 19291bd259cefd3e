"""The grammar itself: conflict-free LALR, a lexer that accepts anything, and
a word for every terminal in syntax error messages."""

from pathlib import Path

import pytest
from lark import Lark

from cnndsl.resources import resource_dir
from cnndsl.syntax import standalone
from cnndsl.syntax.grammar import terminal_names, tokens
from cnndsl.syntax.messages import TERMINAL_WORDS

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR = (resource_dir("grammar") / "cnn.lark").read_text()


def test_grammar_has_no_lalr_conflicts():
    # strict=True turns shift/reduce conflicts (and terminal collisions) into errors.
    Lark(GRAMMAR, parser="lalr", lexer="basic", strict=True)


def test_the_committed_parser_is_the_one_the_grammar_gives():
    # cnndsl runs Lark's standalone parser generated from the grammar; a
    # grammar edit without `python -m cnndsl.syntax.standalone` fails here.
    assert standalone.TARGET.read_text(encoding="utf-8") == standalone.generate()


def test_the_standalone_parser_parses_as_lark_itself_does():
    # The same tokens and the same trees as a Lark object built from the
    # grammar text, on every example and on text full of syntax errors.
    from cnndsl.syntax.builder import Builder
    from cnndsl.syntax.grammar import lark_parser

    reference = Lark(GRAMMAR, parser="lalr", lexer="basic", maybe_placeholders=False, transformer=Builder())
    texts = [path.read_text() for path in sorted(ROOT.glob("examples/**/*.cnn"))]
    texts.append("input 8x8x3 where H >= 3, W >= 4\nblock b(x, y) { conv x k3 p1 ; relu }\nrepeat 2 {\n b 3 4\n}\nresidual { relu } shortcut { conv 3 k1 }\n")
    for text in texts:
        assert [(t.type, str(t), t.start_pos, t.end_pos) for t in tokens(text)] == [
            (t.type, str(t), t.start_pos, t.end_pos) for t in reference.lex(text)
        ]
        assert lark_parser().parse(text) == reference.parse(text)
    for broken in ("conv 3 = =\n", "repeat { relu }\n", "block (", "residual relu\n", "} conv\n"):
        errors = []
        for parser in (lark_parser(), reference):
            try:
                parser.parse(broken)
            except Exception as error:  # noqa: BLE001 - the two must fail alike
                errors.append((type(error).__name__, getattr(error, "expected", None), str(getattr(error, "token", ""))))
        assert len(errors) == 2 and errors[0] == errors[1]


def test_every_terminal_has_words_for_messages():
    terminals = terminal_names()
    missing = {t for t in terminals if t not in TERMINAL_WORDS and t not in ("WS", "COMMENT")}
    assert not missing


@pytest.mark.parametrize("path", sorted(ROOT.glob("examples/**/*.cnn")), ids=lambda p: p.name)
def test_examples_lex_without_stray_characters(path):
    found = tokens(path.read_text())
    assert found
    assert not [t for t in found if t.type == "STRAY"]
    sizes = [t for t in found if t.type == "WORD" and "x" in t and t[0].isdigit()]
    assert all(all(part.isdigit() for part in t.split("x")) for t in sizes)


def test_lexer_accepts_any_text():
    text = "".join(chr(c) for c in range(0, 0x250)) + "\u2028\u00a0\ufeff\U0001f600"
    types = {t.type for t in tokens(text)}
    assert "STRAY" in types
