"""The wording of syntax errors (E0001): what was found, what was expected.

Recovery (recovery.py) decides where an error is and what is skipped; this
module only says it. Lark names what it expected by terminal (`WORD`,
`_SEP`, ...): the messages name it in words, made specific by the token
before the error. What may follow a layer's name depends on the layer; the
parser does not know layers, so the caller passes that knowledge in as
`layer_arguments` (cnndsl.compiler hands in the layer table's words).
"""

from __future__ import annotations

from typing import Callable, Optional

from ..diagnostics.model import Reporter
from ..diagnostics.wording import show
from .source import Span

# What may follow a command's name, in words ("a layer option like k3 or s2"),
# for the name of a layer; None for a name that is not a layer.
LayerArguments = Callable[[str], Optional[str]]

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
    "PERCENT": "'%'",
    "EQEQ": "'=='",
    "_SEP": "a new line or ';'",
    "SEMICOLON": "';'",
    "NEWLINE": "a new line",
    "BLOCK": "'block'",
    "REPEAT": "'repeat'",
    "RESIDUAL": "'residual'",
    "SHORTCUT": "'shortcut'",
    "CONCAT": "'concat'",
    "SPLIT": "'split'",
    "BRANCH": "'branch'",
    "GATE": "'gate'",
    "WHERE": "'where'",
    "$END": "the end of the input",
}


def describe(token) -> str:
    """A token as "found ..." names it."""
    if token.type == "$END":
        return "the end of the input"
    if token.type == "STRAY":
        text = show(str(token))
        quoted = f'"{text}"' if "'" in text else f"'{text}'"
        return f"unexpected character{'s' if len(str(token)) > 1 else ''} {quoted}"
    if token.type == "_SEP":
        return "the end of the line" if str(token) != ";" else "';'"
    if token.type in ("BLOCK", "REPEAT", "RESIDUAL", "SHORTCUT", "CONCAT", "SPLIT", "BRANCH", "GATE", "WHERE"):
        return f"the keyword '{token}'"
    return f"'{show(str(token))}'"


def expected_words(expected: set[str], previous, inside_body: bool = False) -> str:
    """Expected terminals in words, made specific by the previous token."""
    expected = set(expected) - {"STRAY"}
    # LALR lookaheads mix both: keep what can close the current context.
    expected.discard("$END" if inside_body else "RBRACE")
    prev = previous.type if previous is not None else None
    if prev == "BLOCK" and "WORD" in expected:
        return "a block name after 'block', like 'block stem(c) { ... }'"
    if prev == "REPEAT" and "WORD" in expected:
        return "a repeat count after 'repeat', like 'repeat 3 { ... }'"
    if prev in ("RESIDUAL", "SHORTCUT", "CONCAT", "SPLIT", "BRANCH", "GATE") and "LBRACE" in expected:
        return f"'{{' to open the {previous} body"
    if prev == "LPAR" and "WORD" in expected:
        return "a parameter name or ')'"
    if prev == "COMMA" and expected == {"WORD"}:
        return "another name after ','"
    if prev == "EQUAL":
        return "a value after '=', like 'kernel=3'"
    if prev == "GE":
        return "a number after '>=', like 'H >= 32'"
    if prev == "WHERE":
        return "a size symbol and its lower bound after 'where', like 'H >= 32'"
    if prev == "PERCENT":
        return "a modulus after '%', like 'H % 16 == 0'"
    if prev == "EQEQ":
        return "a residue after '==', like 'H % 16 == 0'"
    if expected == {"EQEQ"}:
        return "'==' and a residue, like 'H % 16 == 0'"
    if expected in ({"GE"}, {"GE", "PERCENT"}):
        return "'>=' and a lower bound, like 'H >= 32', or a residue, like 'H % 16 == 0'"
    if expected == {"LPAR"}:
        return "'(' and the block's parameter list, like 'block stem(c) { ... }'"
    if expected == {"COMMA", "RPAR"}:
        return "',' or ')' in the parameter list"
    if expected == {"LBRACE"}:
        if prev == "RPAR":
            return "'{' to open the block's body"
        return "'{' to open the repeat body" if prev == "WORD" else "'{'"
    end = "'}', a new line or ';'" if inside_body else "a new line or ';'"
    if {"REPEAT", "RESIDUAL", "WORD"} <= expected:
        return "a statement, like 'conv 16 k3' or 'repeat 2 { ... }'"
    if "WHERE" in expected and "WORD" in expected:
        return "a layer option like k3 or s2, " + end
    if "COMMA" in expected and "_SEP" in expected:
        return "',' and another bound, " + end
    words = sorted({TERMINAL_WORDS.get(t, t) for t in expected})
    if not words:
        return "something else"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def report_missing_separator(reporter: Reporter, token, brace) -> None:
    line = reporter.source.line_of(brace.start_pos)
    reporter.report(
        "E0001",
        Span(token.start_pos, token.end_pos),
        f"expected a new line or ';' after '}}', found {describe(token)}",
        label="a new statement starts here",
        related=[(Span(brace.start_pos, brace.end_pos), "the body closes here")],
        help=f"put a ';' or a line break after the '}}' on line {line}",
    )


def report_unmatched(reporter: Reporter, token) -> None:
    reporter.report(
        "E0001",
        Span(token.start_pos, token.end_pos),
        "unmatched '}'",
        label="no '{' is open here",
        help="remove this '}' or add the '{' it was meant to close",
    )


def report_eof(reporter: Reporter, tokens, expected, previous, open_braces) -> None:
    # Point just after the last token, not on it.
    end = 0
    for token in reversed(tokens):
        if token.type != "_SEP":
            end = token.end_pos
            break
    wanted = expected_words(set(expected), previous, bool(open_braces))
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


def report_brace_on_next_line(reporter: Reporter, newline, brace, previous) -> None:
    line = reporter.source.line_of(newline.start_pos)
    reporter.report(
        "E0001",
        Span(brace.start_pos, brace.end_pos),
        f"the '{{' must be on the same line as the statement it opens (line {line})",
        label="this '{' is on a new line",
        related=[(Span(previous.start_pos, previous.end_pos), "the statement ends here")] if previous is not None else [],
        help=f"move the '{{' up to the end of line {line}",
    )


def report_unexpected(
    reporter: Reporter,
    token,
    expected,
    previous,
    inside_body: bool = False,
    command=None,
    layer_arguments: LayerArguments | None = None,
) -> None:
    span = Span(token.start_pos, token.end_pos)
    if token.type == "_SEP" and str(token) != ";":  # point at the end of the line, not across it
        span = Span(token.start_pos, token.start_pos)
    if token.type == "LBRACE" and previous is not None and previous.type in ("WORD", "STRAY"):
        reporter.report(
            "E0001",
            span,
            "unexpected '{': only block, repeat, residual, shortcut, concat, split, branch and gate open a body",
            label="a layer statement cannot take '{ ... }'",
        )
        return
    wanted = expected_words(set(expected), previous, inside_body)
    if previous is not None and previous.type == "COMMA" and command is not None and command.type == "WORD":
        # A comma in a command (not a block's parameter list) separates `where` bounds.
        wanted = "another bound after ',', like 'W >= 32'"
    if command is not None and command.type == "WORD" and "WHERE" in expected:
        words = layer_arguments(str(command)) if layer_arguments is not None else None
        if token.type == "LPAR" and words is None:  # not a layer: a block call
            reporter.report(
                "E0001",
                span,
                "unexpected '(': a block call takes its arguments without parentheses",
                label="no parentheses here",
                help=f"write it like: {command} 64, not {command}(64)",
            )
            return
        end = "'}', a new line or ';'" if inside_body else "a new line or ';'"
        if words is None:
            words = "an argument"
        wanted = (f"{words}, " if words != "nothing more" else "") + end
    found = describe(token)
    message = f"expected {wanted}, found {found}"
    if token.type == "STRAY":
        message = f"{found}: expected {wanted}"
    reporter.report("E0001", span, message, label=f"expected {wanted}")
