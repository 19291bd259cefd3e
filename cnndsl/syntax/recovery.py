"""Statement-level error recovery: one parse reports every independent syntax error.

Lark's LALR parser is driven token by token (`feed`). After an error the
broken statement, from the last statement boundary to the next separator
outside braces, is replaced by a placeholder statement (`nodes.BROKEN`,
which the checker types as unknown without a second error) and the parse
goes again from the broken top-level statement.
"""

from __future__ import annotations

import re

from ..diagnostics.model import Reporter
from . import messages
from .builder import attach_shortcuts
from .grammar import Token, UnexpectedToken, lark_parser, tokens
from .messages import LayerArguments
from .nodes import BROKEN, Module
from .source import Span

MAX_SYNTAX_ERRORS = 100

STATEMENT_STARTS = frozenset({"WORD", "BLOCK", "REPEAT", "RESIDUAL", "SHORTCUT", "CONCAT", "SPLIT", "BRANCH", "GATE"})

# More words than any real statement has (a layer takes a handful): a longer
# one is generated text gone wrong, and reading it would cost Lark's lexer and
# parser several microseconds per word (E0063).
MAX_STATEMENT_WORDS = 1000
# The text between two statement boundaries (';', a newline, a brace), when
# it is long enough to hold more than MAX_STATEMENT_WORDS words. The
# lookbehind anchors a match at a boundary, so the search is one pass over
# the text.
_LONG_SEGMENT = re.compile(r"(?<![^;\n{}])[^;\n{}#]{%d,}" % (MAX_STATEMENT_WORDS + 1))
# A word as the lexer cuts them: a name, number, size or option (`k3`), `>=`,
# a run of other characters, or one sign (`=`, `,`, `(`). `conv 1,2` has
# four; `kernel=3` three; `eps=1e-6` three (the grammar's WORD, first alternative).
_WORD = re.compile(
    r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][+-][0-9]+(?![A-Za-z0-9_.])|[+-]?[A-Za-z0-9_.]+|>=|[^\sA-Za-z0-9_.{}();,=#+-]+|\S"
)
# A run of more than MAX_BLANK_RUN separators with only blanks and comments
# between them is read as its first separator: the grammar takes `_SEP+`
# wherever it takes one `_SEP`, and Lark's lexer and parser cost microseconds
# per token (a file of two million blank lines took 12 s).
MAX_BLANK_RUN = 64
# A separator, then blanks, separators and comments (loops over character
# classes: the regular expression engine runs them at C speed). At most 1,000
# comments a run: the engine keeps a state per repetition of a group (a
# million comment lines took 270 MB); a longer run is read as several.
_BLANK_RUN = re.compile(r"(\r?\n|;)[\s;]*(?:#[^\n]*[\s;]*){0,1000}")
# What brace matching looks at: comments (skipped whole) and braces.
_BRACES = re.compile(r"#[^\n]*|[{}]")

# More statements in one file than any network needs, even written out layer
# by layer (hundreds to a few thousand): generated text gone wrong. Lark reads
# a statement in 25 to 60 microseconds (5 to 12 tokens), so a file at the
# limit is read and checked within a second; beyond it, reading stops (E0064).
MAX_STATEMENTS = 20_000
# More words and signs (as the lexer cuts them; braces count, a statement
# past MAX_STATEMENT_WORDS counts as one) than any network needs: all the
# examples together have about 8,000. Reading and checking cost 5 to 25
# microseconds a word, so 2 MB of stray braces or of 999-word lines took
# seconds (E0064).
MAX_FILE_WORDS = 100_000
# Braces nested deeper than this are not read (E0062): the checker reports
# more than 64 levels anyway; this bounds what the parser reads before it.
MAX_READ_DEPTH = 1_000
# What the file limits count: comments (skipped), braces, and statements (the
# text between two boundaries, from its first non-blank character).
_STATEMENT_OR_BRACE = re.compile(r"#[^\n]*|[{}]|[^\s;{}#][^;\n{}#]*")


def read_file_tokens(text: str, reporter: Reporter) -> list:
    """`read_tokens` for a whole file, which stops at the file limits.

    Past MAX_STATEMENTS statements (E0064) or MAX_READ_DEPTH nested braces
    (E0062), the file is read up to the top-level statement where the limit
    is passed; the rest stands as one placeholder statement, so nothing after
    it is typed (as after E0063).
    """
    cut = _reading_stops(text, reporter)
    if cut is None:
        return read_tokens(text, reporter)
    return read_tokens(text[:cut], reporter) + _placeholder_for(text, cut, len(text.rstrip()), 0)


def within_file_limits(text: str) -> bool:
    """Whether a file is read whole (no E0064, no E0062 from reading)."""
    return _reading_stops(text, None) is None


def _reading_stops(text: str, reporter: Reporter | None) -> int | None:
    """Where reading stops (the start of a top-level statement), reported; None within the limits."""
    boundaries = text.count("\n") + text.count(";") + text.count("{") + text.count("}")
    count_words = len(text) > MAX_FILE_WORDS  # a shorter text cannot have more words than characters
    if not count_words and boundaries < MAX_STATEMENTS and text.count("{") <= MAX_READ_DEPTH:
        return None  # too few boundaries to pass either limit: nothing to count
    depth = statements = words = top = 0  # top: where the current top-level statement starts
    for found in _STATEMENT_OR_BRACE.finditer(text):
        char = text[found.start()]
        if char == "#":
            continue
        if char == "{":
            depth += 1
            words += 1
            if depth > MAX_READ_DEPTH:
                if reporter is not None:
                    _report_deep_braces(reporter, found.start())
                return top
        elif char == "}":
            depth = max(depth - 1, 0)
            words += 1
        else:
            statements += 1
            if depth == 0 and not found.group().startswith("shortcut"):  # a shortcut goes with its residual
                top = found.start()
            if statements > MAX_STATEMENTS:
                if reporter is not None:
                    _report_file_too_long(
                        reporter, found.start(), _WORD.match(text, found.start()).end(), f"{MAX_STATEMENTS:,} statements",
                        "a network needs hundreds to a few thousand statements, even written out layer by layer",
                    )
                return top
            if count_words:
                words += _words_in(text, *found.span())
        if count_words and words > MAX_FILE_WORDS:
            if reporter is not None:
                _report_file_too_long(
                    reporter, found.start(), _WORD.match(text, found.start()).end(), f"{MAX_FILE_WORDS:,} words and signs",
                    "a network of a few thousand statements has tens of thousands of words, names, numbers and signs "
                    "(a brace or a comma is one)",
                )
            return top
    return None


def _words_in(text: str, start: int, end: int) -> int:
    """The words and signs of one statement; 1 past MAX_STATEMENT_WORDS (it is read as one placeholder)."""
    count = 0
    for count, _ in enumerate(_WORD.finditer(text, start, end), 1):
        if count > MAX_STATEMENT_WORDS:
            return 1
    return count


def _report_file_too_long(reporter: Reporter, start: int, end: int, limit: str, usual: str) -> None:
    """E0064 at the first statement past a file limit (`limit`: "20,000 statements")."""
    reporter.report(
        "E0064",
        Span(start, end),
        f"this file has more than {limit}; cnnc stops reading it here",
        label="not read from here on",
        notes=[f"{usual}; the statement this one is in and everything after it are not checked"],
        help="use repeat and blocks for repeated layers, or look at what generated this text",
    )


def _report_deep_braces(reporter: Reporter, start: int) -> None:
    reporter.report(
        "E0062",
        Span(start, start + 1),
        f"braces nested more than {MAX_READ_DEPTH:,} levels deep; cnnc stops reading the file here",
        label="too deep",
        notes=["the statement this brace is in and everything after it are not checked"],
        help="flatten the structure, or use repeat",
    )


def read_tokens(text: str, reporter: Reporter, offset: int = 0) -> list:
    """The tokens of `text` (which starts at `offset` in the reporter's source).

    A statement of more than MAX_STATEMENT_WORDS words (names, numbers and
    signs, as the lexer would cut them) is not lexed: it is
    reported (E0063) and stands as one placeholder token (a header's body
    with it), found by a regular expression before Lark sees the text. Cut
    at statement boundaries, the pieces lex exactly as the whole text would.
    """
    found: list = []
    position = 0
    for segment in _LONG_SEGMENT.finditer(text):
        start, end = segment.span()
        if start < position:
            continue  # inside a header's body that was cut already
        line_start = text.rfind("\n", 0, start) + 1
        if "#" in text[line_start:start]:
            continue  # a comment's text, not a statement
        count = sum(1 for _ in _WORD.finditer(text, start, end))
        if count <= MAX_STATEMENT_WORDS:
            continue
        head = _WORD.search(text, start, end)
        first = head.start()
        cut = start + len(segment.group().rstrip())
        if end < len(text) and text[end] == "{":  # a header: its body goes with it
            cut = _closing_brace(text, end)
        found.extend(_lexed(text, position, first, offset))
        _report_long_statement(reporter, offset + first, offset + head.end(), count)
        found.extend(_placeholder_for(text, first, cut, offset))
        position = cut
    found.extend(_lexed(text, position, len(text), offset))
    return found


def _lexed(text: str, start: int, end: int, offset: int) -> list:
    """The tokens of text[start:end], each long blank run (_BLANK_RUN) one separator."""
    found: list = []
    position = start
    for run in _BLANK_RUN.finditer(text, start, end):
        if run.end() - run.start() <= MAX_BLANK_RUN or text.count("\n", *run.span()) + text.count(";", *run.span()) <= MAX_BLANK_RUN:
            continue
        first, separator = run.start(), run.group(1)
        if "#" in text[text.rfind("\n", 0, first) + 1 : first]:
            # After a comment on the same line, which runs to the line's end
            # ('\r' and ';' included): the run starts at the '\n'.
            first, separator = text.find("\n", first, run.end()), "\n"
            if first < 0:
                continue
        found.extend(_shifted(tokens(text[position:first]), position + offset))
        found.append(Token("_SEP", separator, start_pos=offset + first, end_pos=offset + first + len(separator)))
        position = run.end()
    found.extend(_shifted(tokens(text[position:end]), position + offset))
    return found


def _shifted(found: list, delta: int) -> list:
    if delta:
        for token in found:
            token.start_pos += delta
            token.end_pos += delta
    return found


def _closing_brace(text: str, opening: int) -> int:
    """The offset after the '}' that closes the '{' at `opening` (the end of the text if none)."""
    depth = 0
    for found in _BRACES.finditer(text, opening):
        char = found.group()
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return found.end()
    return len(text)


def _placeholder_for(text: str, start: int, end: int, offset: int) -> list:
    """A BROKEN statement for text[start:end], as `placeholder` makes one for tokens."""
    filler = [Token("WORD", BROKEN, start_pos=offset + start, end_pos=offset + end)]
    head = []
    for word in _WORD.finditer(text, start, end):  # the first two words only
        head.append(word)
        if len(head) == 2:
            break
    if len(head) == 2 and head[0].group() == "block":
        found = tokens(text[start : head[1].end()])
        if len(found) > 1 and found[0].type == "BLOCK" and found[1].type == "WORD":
            name = found[1]
            filler.append(Token("WORD", str(name), start_pos=offset + start + name.start_pos, end_pos=offset + start + name.end_pos))
    return filler


def _report_long_statement(reporter: Reporter, start: int, end: int, count: int) -> None:
    reporter.report(
        "E0063",
        Span(start, end),
        f"this statement has {count:,} words; a statement may have at most {MAX_STATEMENT_WORDS:,}",
        label="this statement is skipped",
        notes=["a statement is one layer, block call or header: a handful of words; "
               "this one is not checked, and nothing after it is typed"],
        help="split it into statements, or look at what generated this text",
    )


def parse_tokens(tokens, reporter: Reporter, layer_arguments: LayerArguments | None = None) -> Module:
    """Parse, and after each error drop the broken statement and parse again.

    Restarting (instead of restoring a saved parser state) keeps the happy
    path a single pass with no copies; Lark extends its child lists in place,
    so saved states would share them. After an error the top-level
    statements before it are final: they are parsed once more on their own
    and set aside, so each retry starts at the broken top-level statement and
    a long file with many errors stays linear.
    """
    tokens = list(tokens)
    done: list = []  # top-level statements before the tokens still to parse
    for _ in range(MAX_SYNTAX_ERRORS):
        outcome = feed(tokens)
        if isinstance(outcome, Module):
            return Module(attach_shortcuts(done + list(outcome.statements)))
        index, boundary, top, expected, previous, open_braces = outcome
        if top > 0:  # everything before `top` parses: set it aside
            prefix = feed(tokens[:top])
            if isinstance(prefix, Module):
                done.extend(prefix.statements)
                tokens = tokens[top:]
                index, boundary = index - top, boundary - top
        if index == len(tokens):  # the input ended inside a statement or a body
            messages.report_eof(reporter, tokens, expected, previous, open_braces)
            closing = [
                Token("RBRACE", "}", start_pos=brace.end_pos, end_pos=brace.end_pos)
                for brace in reversed(open_braces)
            ]
            # Keep the unfinished statement when closing the braces completes it.
            outcome = feed(tokens + closing)
            if not isinstance(outcome, Module):
                filler = placeholder(tokens, boundary, len(tokens))
                outcome = feed(tokens[:boundary] + filler + closing)
            rest = list(outcome.statements) if isinstance(outcome, Module) else []
            return Module(attach_shortcuts(done + rest))
        token = tokens[index]
        if token.type == "RBRACE" and not open_braces:
            messages.report_unmatched(reporter, token)
            tokens = tokens[:index] + tokens[index + 1 :]
            continue
        if previous is not None and previous.type == "RBRACE" and "_SEP" in expected:
            # `repeat 2 { relu } pool 2`: a statement after '}' needs its own line.
            messages.report_missing_separator(reporter, token, previous)
            if token.type in STATEMENT_STARTS:
                separator = Token("_SEP", ";", start_pos=token.start_pos, end_pos=token.start_pos)
                tokens = tokens[:index] + [separator] + tokens[index:]
            else:  # not a statement either: skip to the end of the line
                resume = max(index + 1, skip_statement(tokens, index, bool(open_braces)))
                tokens = tokens[:index] + tokens[resume:]
            continue
        command = tokens[boundary] if boundary < index else None
        resume = skip_statement(tokens, index, bool(open_braces))
        following = next_token(tokens, index) if token.type == "_SEP" else None
        if following is not None and tokens[following].type == "LBRACE":
            # A header broken at the end of its line, its '{' on the next line
            # (`repeat 2` / `{`): the body belongs to the broken statement.
            if "LBRACE" in expected:
                messages.report_brace_on_next_line(reporter, token, tokens[following], previous)
            else:
                messages.report_unexpected(reporter, token, expected, previous, bool(open_braces), command, layer_arguments)
            resume = skip_statement(tokens, following, bool(open_braces))
            tokens = tokens[:boundary] + placeholder(tokens, boundary, resume) + tokens[resume:]
            continue
        messages.report_unexpected(reporter, token, expected, previous, bool(open_braces), command, layer_arguments)
        if resume == boundary:  # nothing would be dropped: drop the bad token
            tokens = tokens[:index] + tokens[index + 1 :]
            continue
        tokens = tokens[:boundary] + placeholder(tokens, boundary, resume) + tokens[resume:]
    reporter.report(
        "E0001",
        Span(tokens[-1].start_pos, tokens[-1].end_pos) if tokens else Span(0, 0),
        f"too many syntax errors; stopped after {MAX_SYNTAX_ERRORS}",
    )
    return Module(())


def feed(tokens):
    """One pass: the module, or where it failed and the state at that point.

    On failure: (index of the bad token, index after the last statement
    boundary, index after the last top-level boundary, the expected
    terminals, the token before the bad one, the braces open there).
    """
    interactive = lark_parser().parse_interactive()
    open_braces: list = []
    starts: list[int] = []  # the statement start outside each open brace
    boundary = 0  # index of the first token of the current statement
    top = 0  # index after the last separator outside every brace
    previous = None
    for index, token in enumerate(tokens):
        try:
            interactive.feed_token(token)
        except UnexpectedToken as error:
            return index, boundary, top, error.expected, previous, open_braces
        previous = token
        kind = token.type
        if kind == "_SEP":
            boundary = index + 1
            if not open_braces:
                top = boundary
        elif kind == "LBRACE":
            open_braces.append(token)
            starts.append(boundary)
            boundary = index + 1
        elif kind == "RBRACE":
            # The statement that owns the body goes on (`shortcut`, a separator).
            open_braces.pop()
            boundary = starts.pop()
    last = tokens[-1] if tokens else None
    try:
        return interactive.feed_eof(last)
    except UnexpectedToken as error:
        return len(tokens), boundary, top, error.expected, previous, open_braces


def placeholder(tokens, start: int, end: int) -> list:
    """The tokens of a BROKEN statement standing for tokens[start:end].

    A broken block definition keeps its name as the placeholder's argument,
    so that calls to the block are not reported as unknown names.
    """
    while end > start and tokens[end - 1].type == "_SEP":
        end -= 1
    if end <= start:
        return []
    first, last = tokens[start], tokens[end - 1]
    filler = [Token("WORD", BROKEN, start_pos=first.start_pos, end_pos=last.end_pos)]
    if first.type == "BLOCK" and end - start > 1 and tokens[start + 1].type == "WORD":
        name = tokens[start + 1]
        filler.append(Token("WORD", str(name), start_pos=name.start_pos, end_pos=name.end_pos))
    return filler


def next_token(tokens, index: int) -> int | None:
    """The index of the first token after `index` that is not a separator."""
    for following in range(index + 1, len(tokens)):
        if tokens[following].type != "_SEP":
            return following
    return None


def skip_statement(tokens, index: int, inside_body: bool) -> int:
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
