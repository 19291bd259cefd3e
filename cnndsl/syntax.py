"""Source text -> syntax tree (cnndsl.nodes), with recovery at statements.

The grammar lives in grammar/cnn.lark. Lark's LALR parser is driven token by
token so that after an error the parser can be put back to the last statement
boundary, the broken statement skipped, and parsing resumed: one run reports
every independent syntax error, without a cascade.
"""

from __future__ import annotations

import gc
from functools import lru_cache

from .diagnostics import Reporter
from .nodes import (
    Body,
    BlockDef,
    Bound,
    Command,
    KeywordArg,
    Module,
    Repeat,
    Residual,
    Shortcut,
    Word,
)
from .source import Span

# How each terminal is named in "expected ..." messages.
TERMINAL_WORDS: dict[str, str] = {
    "WORD": "a name or a number",
    "STRAY": "a character",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "EQUAL": "'='",
    "GE": "'>='",
    "_SEP": "a new line or ';'",
    "SEMICOLON": "';'",
    "NEWLINE": "a new line",
    "BLOCK": "'block'",
    "REPEAT": "'repeat'",
    "RESIDUAL": "'residual'",
    "SHORTCUT": "'shortcut'",
    "WHERE": "'where'",
    "$END": "the end of the input",
}

_SEPARATORS = frozenset({"_SEP"})


def _span(first, last) -> Span:
    return Span(_start(first), _end(last))


def _start(item) -> int:
    return item.start_pos if hasattr(item, "start_pos") else item.span.start


def _end(item) -> int:
    return item.end_pos if hasattr(item, "end_pos") else item.span.end


def _word(token) -> Word:
    return Word(str(token), Span(token.start_pos, token.end_pos), token.type == "STRAY")


def _attach_shortcuts(statements: list) -> tuple:
    """A `shortcut` statement right after a residual belongs to that residual."""
    result: list = []
    for statement in statements:
        if (
            isinstance(statement, Shortcut)
            and result
            and isinstance(result[-1], Residual)
            and result[-1].shortcut is None
        ):
            residual = result[-1]
            result[-1] = Residual(
                residual.body,
                statement.body,
                residual.span.cover(statement.span),
                residual.header,
            )
        else:
            result.append(statement)
    return tuple(result)


class _Builder:
    """Lark callbacks (run during parsing) that build cnndsl.nodes."""

    def start(self, children):
        return Module(_attach_shortcuts([c for c in children if c is not None]))

    def positional(self, children):
        return _word(children[0])

    def keyword(self, children):
        key, _, value = children
        return KeywordArg(_word(key), _word(value), _span(key, value))

    def bound(self, children):
        symbol, _, minimum = children
        return Bound(_word(symbol), _word(minimum), _span(symbol, minimum))

    def where(self, children):
        return tuple(c for c in children if isinstance(c, Bound))

    def command(self, children):
        name = _word(children[0])
        args = []
        bounds: tuple = ()
        for child in children[1:]:
            if isinstance(child, tuple):
                bounds = child
            else:
                args.append(child)
        last = children[-1]
        if isinstance(last, tuple):
            last = last[-1] if last else children[-2]
        return Command(name, tuple(args), bounds, _span(children[0], last))

    def body(self, children):
        statements = [c for c in children[1:-1] if c is not None]
        return Body(_attach_shortcuts(statements), _span(children[0], children[-1]))

    def block_def(self, children):
        keyword, name = children[0], children[1]
        params = tuple(_word(c) for c in children[3:-2] if c is not None and c.type == "WORD")
        body = children[-1]
        rpar = children[-2]
        return BlockDef(_word(name), params, body, _span(keyword, body), _span(keyword, rpar))

    def repeat(self, children):
        keyword, count, body = children
        return Repeat(_word(count), body, _span(keyword, body), _span(keyword, count))

    def residual(self, children):
        keyword, body = children[0], children[1]
        shortcut = children[3] if len(children) > 3 else None
        return Residual(body, shortcut, _span(keyword, children[-1]), _span(keyword, keyword))

    def shortcut(self, children):
        keyword, body = children
        return Shortcut(body, _span(keyword, body), _span(keyword, keyword))


@lru_cache(maxsize=1)
def _parser():
    from lark import Lark

    from .resources import resource_dir

    grammar = resource_dir("grammar") / "cnn.lark"
    return Lark(
        grammar.read_text(encoding="utf-8"),
        parser="lalr",
        lexer="basic",
        transformer=_Builder(),
        maybe_placeholders=False,
        cache=True,
    )


def _describe(token) -> str:
    if token.type == "$END":
        return "the end of the input"
    if token.type == "STRAY":
        return f"unexpected character '{token}'"
    if token.type == "_SEP":
        return "the end of the line" if str(token) != ";" else "';'"
    if token.type in ("BLOCK", "REPEAT", "RESIDUAL", "SHORTCUT", "WHERE"):
        return f"the keyword '{token}'"
    return f"'{token}'"


def _expected(expected: set[str], previous) -> str:
    """Expected terminals in words, made specific by the previous token."""
    prev = previous.type if previous is not None else None
    if prev == "BLOCK" and "WORD" in expected:
        return "a block name after 'block'"
    if prev == "REPEAT" and "WORD" in expected:
        return "a repeat count after 'repeat', like 'repeat 3 { ... }'"
    if prev in ("RESIDUAL", "SHORTCUT") and "LBRACE" in expected:
        return f"'{{' to open the {previous} body"
    if prev == "LPAR" and "WORD" in expected:
        return "a parameter name or ')'"
    if prev == "COMMA" and "WORD" in expected:
        return "a name after ','"
    if prev == "EQUAL":
        return "a value after '=', like 'kernel=3'"
    if prev == "GE":
        return "a number after '>='"
    if expected == {"LPAR"}:
        return "'(' and the block's parameter list"
    if {"BLOCK", "REPEAT", "RESIDUAL", "WORD"} <= expected:
        return "a statement, like 'conv 16 k3' or 'repeat 2 { ... }'"
    if {"EQUAL", "WORD", "_SEP"} <= expected:
        return "a layer option, a new line or ';'"
    words = sorted({TERMINAL_WORDS.get(t, t) for t in expected if t not in ("STRAY",)})
    if not words:
        return "something else"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def parse(reporter: Reporter) -> Module:
    """Parse the reporter's source; syntax errors are reported, never raised."""
    from lark.exceptions import UnexpectedInput, UnexpectedToken
    from lark.lexer import Token

    source = reporter.source
    parser = _parser()
    # Python's cyclic GC makes big parses superlinear; the tree has no cycles.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        try:
            tokens = list(parser.lex(source.text))
        except UnexpectedInput as error:  # the grammar's STRAY should make this impossible
            offset = getattr(error, "pos_in_stream", 0) or 0
            reporter.report("E0001", Span(offset, offset + 1), "unexpected character")
            return Module(())
        return _parse_tokens(parser, tokens, reporter, UnexpectedToken, Token)
    finally:
        if gc_was_enabled:
            gc.enable()


MAX_SYNTAX_ERRORS = 100


def _parse_tokens(parser, tokens, reporter: Reporter, UnexpectedToken, Token) -> Module:
    """Parse, and after each error drop the broken statement and parse again.

    Restarting (instead of restoring a saved parser state) keeps the happy
    path a single pass with no copies; Lark extends its child lists in place,
    so saved states would share them. A file with E errors costs E + 1 passes.
    """
    tokens = list(tokens)
    for _ in range(MAX_SYNTAX_ERRORS):
        outcome = _feed(parser, tokens, UnexpectedToken, Token)
        if isinstance(outcome, Module):
            return outcome
        index, boundary, expected, previous, open_braces, boundary_braces = outcome
        if index == len(tokens):  # the input ended inside a statement or a body
            _report_eof(reporter, tokens, expected, previous, open_braces, Token)
            closing = [
                Token("RBRACE", "}", start_pos=brace.end_pos, end_pos=brace.end_pos)
                for brace in reversed(boundary_braces)
            ]
            outcome = _feed(parser, tokens[:boundary] + closing, UnexpectedToken, Token)
            return outcome if isinstance(outcome, Module) else Module(())
        token = tokens[index]
        if token.type == "RBRACE" and not open_braces:
            _report_unmatched(reporter, token)
            tokens = tokens[:index] + tokens[index + 1 :]
            continue
        _report_unexpected(reporter, token, expected, previous)
        resume = _skip_statement(tokens, index, bool(boundary_braces))
        if resume == boundary:  # nothing would be dropped: drop the bad token
            resume = index + 1
        tokens = tokens[:boundary] + tokens[resume:]
    reporter.report(
        "E0001",
        Span(tokens[-1].start_pos, tokens[-1].end_pos) if tokens else Span(0, 0),
        f"too many syntax errors; stopped after {MAX_SYNTAX_ERRORS}",
    )
    return Module(())


def _feed(parser, tokens, UnexpectedToken, Token):
    """One pass: the module, or where it failed and the state at that point."""
    interactive = parser.parse_interactive()
    open_braces: list = []
    boundary = 0  # index of the first token after the last statement boundary
    boundary_braces: tuple = ()
    previous = None
    for index, token in enumerate(tokens):
        try:
            interactive.feed_token(token)
        except UnexpectedToken as error:
            return index, boundary, error.expected, previous, open_braces, boundary_braces
        previous = token
        kind = token.type
        if kind == "LBRACE":
            open_braces.append(token)
        elif kind == "RBRACE":
            open_braces.pop()
        if kind == "_SEP" or kind == "LBRACE" or kind == "RBRACE":
            boundary = index + 1
            boundary_braces = tuple(open_braces)
    last = tokens[-1] if tokens else None
    try:
        return interactive.feed_eof(last)
    except UnexpectedToken as error:
        return len(tokens), boundary, error.expected, previous, open_braces, boundary_braces


def _skip_statement(tokens, index: int, inside_body: bool) -> int:
    """Where to resume after a broken statement that failed at `index`.

    At the next separator outside any brace opened while skipping, or at a
    '}' that closes the body the statement stands in.
    """
    depth = 0
    while index < len(tokens):
        kind = tokens[index].type
        if kind == "LBRACE":
            depth += 1
        elif kind == "RBRACE":
            if depth > 0:
                depth -= 1
            elif inside_body:
                return index
        elif kind == "_SEP" and depth == 0:
            return index
        index += 1
    return index


def _report_unmatched(reporter: Reporter, token) -> None:
    reporter.report(
        "E0001",
        Span(token.start_pos, token.end_pos),
        "unmatched '}'",
        label="no '{' is open here",
        help="remove this '}' or add the '{' it was meant to close",
    )


def _report_eof(reporter: Reporter, tokens, expected, previous, open_braces, Token) -> None:
    # Point just after the last token, not on it.
    end = 0
    for token in reversed(tokens):
        if token.type != "_SEP":
            end = token.end_pos
            break
    wanted = _expected(set(expected), previous)
    notes: list[str] = []
    related: list = []
    message = f"unexpected end of input: expected {wanted}"
    if open_braces:
        opener = open_braces[-1]
        line = reporter.source.line_of(opener.start_pos)
        message = f"unexpected end of input: the '{{' on line {line} is never closed"
        related = [(Span(opener.start_pos, opener.end_pos), "this '{' is not closed")]
        notes = [f"expected {wanted}"]
    reporter.report(
        "E0001",
        Span(end, end),
        message,
        label="input ends here",
        notes=notes,
        help="add the missing '}'" if open_braces else None,
        related=related,
    )


def _report_unexpected(reporter: Reporter, token, expected, previous) -> None:
    span = Span(token.start_pos, token.end_pos)
    if token.type == "LBRACE" and previous is not None and previous.type in ("WORD", "STRAY"):
        reporter.report(
            "E0001",
            span,
            "unexpected '{': only block, repeat, residual and shortcut open a body",
            label="a layer statement cannot take '{ ... }'",
        )
        return
    wanted = _expected(set(expected), previous)
    found = _describe(token)
    message = f"expected {wanted}, found {found}"
    if token.type == "STRAY":
        message = f"{found}: expected {wanted}"
    reporter.report("E0001", span, message, label=f"expected {wanted}")
