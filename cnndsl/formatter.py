"""The canonical layout of a .cnn file (`cnnc fmt`, the editor's "format document").

The formatter works line by line on the tokens of cnndsl's own lexer, so it
can only change the space between tokens, never the tokens themselves:

- every statement stays on its line: line numbers in diagnostics and in the
  summary are the same before and after (`;` groups and one-line bodies such
  as `repeat 5 { separable 512 512 1 }` are kept as written);
- 2 spaces of indentation per open brace; a line that starts with `}` is
  indented like the line that opened the brace;
- one space between words, none around `=` (`kernel=3`), none before `,`,
  `;` or `)` and none after `(`; `block name(a, b) {`; one space around `>=`;
- redundant `;` (at the start or end of a line, doubled, before `}`) go;
- trailing comments in a paragraph (consecutive lines with code) line up in
  one column: the column of the paragraph's first trailing comment, moved
  right if needed so that every comment has at least two spaces before it;
- comment-only lines are indented like code; comment text is kept verbatim;
- trailing whitespace and blank lines at the end of the file go, and the file
  ends with one line break. Line breaks (`\\n` or `\\r\\n`) are kept.

A file with syntax errors (E0001, E0002) is not formatted: `format_source`
raises `FormatError` carrying the diagnostics. Formatting is idempotent and
never changes the meaning: tests compare the typed programs of every example
and of random programs before and after.
"""

from __future__ import annotations

import bisect

from .diagnostics.model import Diagnostic

INDENT = "  "
COMMENT_GAP = 2
SYNTAX_CODES = frozenset({"E0001", "E0002"})

# Token types (grammar/cnn.lark) with no space on one side.
_NO_SPACE_BEFORE = frozenset({"COMMA", "RPAR", "SEMICOLON", "EQUAL", "LPAR"})
_NO_SPACE_AFTER = frozenset({"LPAR", "EQUAL"})


class FormatError(Exception):
    """The text has syntax errors; `.diagnostics` lists them. Nothing is formatted."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        first = self.diagnostics[0] if self.diagnostics else None
        super().__init__(
            f"{first.file}:{first.line}:{first.column}: {first.message}" if first else "syntax error"
        )


def syntax_errors(text: str, filename: str = "<string>") -> list[Diagnostic]:
    """The diagnostics that stop formatting (syntax and encoding errors)."""
    from .compiler import check_program

    return [d for d in check_program(text, filename).diagnostics if d.code in SYNTAX_CODES]


def format_source(text: str, filename: str = "<string>") -> str:
    """The canonical form of a .cnn text; raises FormatError on syntax errors."""
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    body = text[len(bom) :]
    errors = syntax_errors(body, filename)
    if errors:
        raise FormatError(errors)
    return bom + _layout(body)


def is_formatted(text: str, filename: str = "<string>") -> bool:
    return format_source(text, filename) == text


class _Line:
    __slots__ = ("code", "comment", "comment_column", "indent", "ending", "gap")

    def __init__(self, code: str, comment: str, comment_column: int, indent: str, ending: str) -> None:
        self.code = code
        self.comment = comment
        self.comment_column = comment_column  # where the comment was written
        self.indent = indent
        self.ending = ending
        self.gap = COMMENT_GAP  # spaces between code and comment, set by _align_comments


def _tokens_by_line(text: str, starts: list[int]) -> list[list]:
    from .syntax.grammar import tokens

    lines: list[list] = [[] for _ in starts]
    for token in tokens(text):
        if token.type == "_SEP":
            if "\n" in token:
                continue
            token.type = "SEMICOLON"  # the grammar names ';' and newlines alike _SEP
        lines[bisect.bisect_right(starts, token.start_pos) - 1].append(token)
    return lines


def _tidy(tokens: list) -> list:
    """Drop separators that separate nothing."""
    out: list = []
    for token in tokens:
        kind = token.type
        if kind == "SEMICOLON" and (not out or out[-1].type in ("SEMICOLON", "LBRACE")):
            continue
        if kind == "RBRACE" and out and out[-1].type == "SEMICOLON":
            out.pop()
        out.append(token)
    while out and out[-1].type == "SEMICOLON":
        out.pop()
    return out


def _join(tokens: list) -> str:
    parts: list[str] = []
    previous = None
    for token in tokens:
        if previous is not None and token.type not in _NO_SPACE_BEFORE and previous.type not in _NO_SPACE_AFTER:
            parts.append(" ")
        parts.append(str(token))
        previous = token
    return "".join(parts)


def _layout(text: str) -> str:
    raw_lines = text.split("\n")
    starts = []
    offset = 0
    for raw in raw_lines:
        starts.append(offset)
        offset += len(raw) + 1
    tokens = _tokens_by_line(text, starts)
    lines: list[_Line] = []
    depth = 0
    for number, raw in enumerate(raw_lines):
        ending = "\r\n" if raw.endswith("\r") else "\n"
        content = raw[:-1] if raw.endswith("\r") else raw
        hash_at = content.find("#")  # no token can hold '#': the first one starts a comment
        comment = content[hash_at:].rstrip() if hash_at >= 0 else ""
        line_tokens = _tidy(tokens[number])
        closers = 0
        for token in line_tokens:
            if token.type != "RBRACE":
                break
            closers += 1
        indent = INDENT * max(0, (depth - closers if line_tokens else depth))
        for token in line_tokens:
            if token.type == "LBRACE":
                depth += 1
            elif token.type == "RBRACE":
                depth = max(0, depth - 1)
        lines.append(_Line(_join(line_tokens), comment, hash_at, indent, ending))
    _align_comments(lines)
    rendered = []
    for line in lines:
        if line.code:
            text_line = line.indent + line.code
            if line.comment:
                text_line += " " * line.gap + line.comment
        elif line.comment:
            text_line = line.indent + line.comment
        else:
            text_line = ""
        rendered.append((text_line, line.ending))
    while rendered and not rendered[-1][0]:
        rendered.pop()
    if not rendered:
        return ""
    return "".join(text_line + ending for text_line, ending in rendered)


def _align_comments(lines: list[_Line]) -> None:
    """Give each code line with a comment the gap that lines its paragraph up."""
    index = 0
    while index < len(lines):
        if not lines[index].code:
            index += 1
            continue
        end = index
        while end < len(lines) and lines[end].code:
            end += 1
        commented = [line for line in lines[index:end] if line.comment]
        if commented:
            widest = max(len(line.indent) + len(line.code) for line in commented)
            column = max(commented[0].comment_column, widest + COMMENT_GAP)
            for line in commented:
                line.gap = column - len(line.indent) - len(line.code)
        index = end
