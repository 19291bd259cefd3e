"""Source text -> syntax tree (cnndsl.nodes), with recovery at statements.

The grammar lives in grammar/cnn.lark. Lark's LALR parser is driven token by
token so that after an error the parser can be put back to the last statement
boundary, the broken statement skipped, and parsing resumed: one run reports
every independent syntax error, without a cascade.
"""

from __future__ import annotations

import gc
import re
from functools import lru_cache

from ..diagnostics.model import Reporter
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

    from ..resources import resource_dir

    grammar = resource_dir("grammar") / "cnn.lark"
    return Lark(
        grammar.read_text(encoding="utf-8"),
        parser="lalr",
        lexer="basic",
        transformer=_Builder(),
        maybe_placeholders=False,
        cache=True,
    )


def show(text: str, limit: int = 40) -> str:
    """Text as a message quotes it: invisible characters spelled out, long text shortened."""
    if len(text) > limit:
        text = f"{text[: limit // 2]}...{text[-(limit // 4):]} ({len(text):,} characters)"
    return "".join(ch if ch.isprintable() and not ch.isspace() or ch == " " else f"U+{ord(ch):04X}" for ch in text)


def _describe(token) -> str:
    if token.type == "$END":
        return "the end of the input"
    if token.type == "STRAY":
        text = show(str(token))
        quoted = f'"{text}"' if "'" in text else f"'{text}'"
        return f"unexpected character{'s' if len(str(token)) > 1 else ''} {quoted}"
    if token.type == "_SEP":
        return "the end of the line" if str(token) != ";" else "';'"
    if token.type in ("BLOCK", "REPEAT", "RESIDUAL", "SHORTCUT", "WHERE"):
        return f"the keyword '{token}'"
    return f"'{show(str(token))}'"


def _expected(expected: set[str], previous, inside_body: bool = False) -> str:
    """Expected terminals in words, made specific by the previous token."""
    expected = set(expected) - {"STRAY"}
    # LALR lookaheads mix both: keep what can close the current context.
    expected.discard("$END" if inside_body else "RBRACE")
    prev = previous.type if previous is not None else None
    if prev == "BLOCK" and "WORD" in expected:
        return "a block name after 'block', like 'block stem(c) { ... }'"
    if prev == "REPEAT" and "WORD" in expected:
        return "a repeat count after 'repeat', like 'repeat 3 { ... }'"
    if prev in ("RESIDUAL", "SHORTCUT") and "LBRACE" in expected:
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
    if expected == {"GE"}:
        return "'>=' and a lower bound, like 'H >= 32'"
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


# -- the language server's parse cache ------------------------------------------
#
# A top-level statement ends at a newline or ';' outside every brace, and no
# token crosses such a separator ('#' always starts a comment, braces are
# always their own tokens). After one, the parser is where it is at the start
# of the file, and recovery never looks past it (it skips to the next
# top-level separator, or to the '}' that closes the body it is in), with one
# exception: a header whose '{' is on a later line is one statement with it.
# So the file splits into chunks that parse on their own, and a chunk whose
# text did not change parses to the same statements, at shifted offsets.

# What the splitter looks at: comments (skipped whole), braces, separators.
_STRUCTURE = re.compile(r"#[^\n]*|[{};\n]")
# What may follow a separator before the next statement: blanks, separators, comments.
_GAP = re.compile(r"(?:\s|;|#[^\n]*)*")
# Chunks nested deeper than this are parsed every time (shifting their nodes recurses).
_CACHED_DEPTH = 40


def split_statements(text: str) -> list[tuple[int, int, int]]:
    """The top-level chunks of a text: (start, end, deepest brace nesting).

    Each chunk is one top-level statement with its separator and the blank
    lines and comments after it (the first chunk also has those before the
    first statement). The chunks cover the text without gaps. A `{` that is
    never closed makes the rest of the file one chunk.
    """
    return list(_chunks(text, 0))


def _chunks(text: str, start: int):
    """split_statements from `start`, a chunk boundary, lazily.

    The splitter keeps no state across a boundary (the depth is 0 there), so
    the chunks after a boundary depend only on the text after it.
    """
    search, gap = _STRUCTURE.search, _GAP.match
    position, depth, deepest = start, 0, 0
    size = len(text)
    while True:
        found = search(text, position)
        if found is None:
            break
        position = found.end()
        char = text[found.start()]
        if char == "#":
            continue
        if char == "{":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif char == "}":
            if depth:
                depth -= 1
        elif depth == 0:  # a top-level separator
            following = gap(text, position).end()
            if following < size and text[following] == "{":
                position = following  # `repeat 2` / `{`: one statement
                continue
            yield start, following, deepest
            start = position = following
            deepest = 0
    if start < size or start == 0:
        yield start, size, deepest


def _common_prefix(a: str, b: str) -> int:
    """The length of the longest common prefix (slices compared in C, O(n))."""
    low, high = 0, min(len(a), len(b))
    if a[:high] == b[:high]:
        return high
    while high - low > 1:  # a[:low] == b[:low], a[:high] != b[:high]
        middle = (low + high) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle
    return low


def _common_suffix(a: str, b: str, limit: int) -> int:
    """The length of the longest common suffix, at most `limit`."""
    end_a, end_b = len(a), len(b)
    if a[end_a - limit :] == b[end_b - limit :]:
        return limit
    low, high = 0, limit
    while high - low > 1:
        middle = (low + high) // 2
        if a[end_a - middle : end_a - low] == b[end_b - middle : end_b - low]:
            low = middle
        else:
            high = middle
    return low


class ParseCache:
    """Parses a document again and again, re-parsing only the chunks that changed.

    `parse` gives exactly the module and the diagnostics that `parse` (the
    function) gives for the same text: chunks with syntax errors are parsed
    every time (their messages name lines), error-free ones are reused with
    their spans shifted, and near MAX_SYNTAX_ERRORS the whole text is parsed
    at once. One cache serves one document (the language server keeps one per
    open file); `check_program(..., parse_cache=...)` uses it.

    After an edit, the chunks before the first changed character and after
    the last one are taken from the last parse without splitting that text
    again; only the chunks in between are split, and looked up by their text
    (a statement moved or pasted is not parsed again either).
    """

    def __init__(self) -> None:
        self._text = ""
        # The last parse's chunks: (start, end, deepest, text, statements or
        # None for a chunk parsed every time).
        self._records: list[tuple[int, int, int, str, tuple | None]] = []
        self.reused = 0  # chunks taken from the cache in the last parse
        self.parsed = 0  # chunks parsed in the last parse

    def parse(self, reporter: Reporter) -> Module:
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._parse(reporter)
        finally:
            if gc_was_enabled:
                gc.enable()

    def _parse(self, reporter: Reporter) -> Module:
        from lark.exceptions import UnexpectedInput, UnexpectedToken
        from lark.lexer import Token

        text = reporter.source.text
        old, records = self._text, self._records
        parser = _parser()
        first_diagnostic = len(reporter.diagnostics)
        statements: list = []
        new_records: list = []
        self.reused = self.parsed = 0
        by_text: dict[str, tuple[int, tuple]] | None = None

        def take(start: int, end: int, deepest: int, chunk: str, found) -> bool:
            """Add one chunk's statements (parsing it if `found` is None); False: parse it all at once."""
            if found is not None:
                self.reused += 1
                new_records.append((start, end, deepest, chunk, found))
                statements.extend(found)
                return True
            self.parsed += 1
            errors = len(reporter.diagnostics)
            try:
                tokens = list(parser.lex(chunk))
            except UnexpectedInput:  # not expected (STRAY takes anything): let the full parse say it
                return False
            if start:
                for token in tokens:
                    token.start_pos += start
                    token.end_pos += start
            found = _parse_tokens(parser, tokens, reporter, UnexpectedToken, Token).statements
            if len(reporter.diagnostics) - first_diagnostic >= MAX_SYNTAX_ERRORS - 1:
                return False  # the whole file may hit the error limit: give what parse() gives
            clean = len(reporter.diagnostics) == errors and deepest <= _CACHED_DEPTH
            new_records.append((start, end, deepest, chunk, found if clean else None))
            statements.extend(found)
            return True

        # The chunks before the first change: the same text at the same offsets.
        prefix = _common_prefix(old, text) if records else 0
        index = 0
        while index < len(records) and records[index][1] < prefix:
            record = records[index]
            index += 1
            if record[4] is not None:  # as it was
                new_records.append(record)
                statements.extend(record[4])
                self.reused += 1
            elif not take(*record):
                return self._full(reporter, first_diagnostic)
        resume = records[index - 1][1] if index else 0
        # The chunks after the last change start where an old chunk started.
        delta = len(text) - len(old)
        suffix = _common_suffix(old, text, min(len(old), len(text)) - prefix) if records else 0
        tail = None
        following = index  # the first old chunk that has not started before `start - delta`
        for start, end, deepest in _chunks(text, resume):
            if start >= len(text) - suffix and start != len(text):
                while following < len(records) and records[following][0] < start - delta:
                    following += 1
                if following < len(records) and records[following][0] == start - delta:
                    tail = following
                    break
            chunk = text[start:end]
            found = None
            if records:
                if by_text is None:  # the old chunks that changed: a statement moved among them
                    last = len(records)
                    while last > index and records[last - 1][0] >= len(old) - suffix:
                        last -= 1
                    by_text = {record[3]: (record[0], record[4]) for record in records[index:last] if record[4] is not None}
                moved, found = by_text.get(chunk, (start, None))
                if found is not None and moved != start:
                    found = tuple([_shift(statement, start - moved) for statement in found])
            if not take(start, end, deepest, chunk, found):
                return self._full(reporter, first_diagnostic)
        if tail is not None:
            for start, end, deepest, chunk, found in records[tail:]:
                if found is not None:  # moved by delta
                    if delta:
                        found = tuple([_shift(statement, delta) for statement in found])
                    new_records.append((start + delta, end + delta, deepest, chunk, found))
                    statements.extend(found)
                    self.reused += 1
                elif not take(start + delta, end + delta, deepest, chunk, None):
                    return self._full(reporter, first_diagnostic)
        self._text, self._records = text, new_records
        return Module(_attach_shortcuts(statements))

    def _full(self, reporter: Reporter, first_diagnostic: int) -> Module:
        del reporter.diagnostics[first_diagnostic:]
        self._text, self._records = "", []
        return parse(reporter)


# Shifting builds a new Span and Word for every word after an edit: made
# through their slots, without the frozen dataclasses' __init__ (half the time;
# neither has a __post_init__, and the tests compare every node with a parse).
_new = object.__new__
_set_start, _set_end = Span.start.__set__, Span.end.__set__
_set_text, _set_span, _set_stray = Word.text.__set__, Word.span.__set__, Word.stray.__set__


def _moved(span: Span, delta: int) -> Span:
    moved = _new(Span)
    _set_start(moved, span.start + delta)
    _set_end(moved, span.end + delta)
    return moved


def _moved_word(word: Word, delta: int) -> Word:
    moved = _new(Word)
    _set_text(moved, word.text)
    _set_span(moved, _moved(word.span, delta))
    _set_stray(moved, word.stray)
    return moved


def _shift(node, delta: int):
    """A statement (or body, argument, bound) with every span moved by delta."""
    if delta == 0:
        return node
    kind = type(node)
    if kind is Command:  # the common case: this runs for every statement after an edit
        return Command(
            _moved_word(node.name, delta),
            tuple([_moved_word(arg, delta) if type(arg) is Word else _shift(arg, delta) for arg in node.args]),
            tuple([_shift(bound, delta) for bound in node.bounds]) if node.bounds else (),
            _moved(node.span, delta),
        )
    if kind is Word:
        return _moved_word(node, delta)
    if kind is KeywordArg:
        return KeywordArg(_moved_word(node.key, delta), _moved_word(node.value, delta), _moved(node.span, delta))
    if kind is Bound:
        return Bound(_moved_word(node.symbol, delta), _moved_word(node.minimum, delta), _moved(node.span, delta))
    if kind is Body:
        return Body(tuple([_shift(statement, delta) for statement in node.statements]), _moved(node.span, delta))
    if kind is BlockDef:
        return BlockDef(
            _moved_word(node.name, delta),
            tuple([_moved_word(param, delta) for param in node.params]),
            _shift(node.body, delta),
            _moved(node.span, delta),
            _moved(node.header, delta),
        )
    if kind is Repeat:
        return Repeat(_moved_word(node.count, delta), _shift(node.body, delta), _moved(node.span, delta), _moved(node.header, delta))
    if kind is Residual:
        shortcut = None if node.shortcut is None else _shift(node.shortcut, delta)
        return Residual(_shift(node.body, delta), shortcut, _moved(node.span, delta), _moved(node.header, delta))
    if kind is Shortcut:
        return Shortcut(_shift(node.body, delta), _moved(node.span, delta), _moved(node.header, delta))
    raise TypeError(f"not a syntax node: {kind.__name__}")


MAX_SYNTAX_ERRORS = 100

# The name of the placeholder statement that stands where a broken statement
# was dropped. No source text can spell it (the lexer's WORD has no '<'); the
# checker gives it an unknown type without a second diagnostic, so that
# nothing after it is checked against a type the user did not write.
BROKEN = "<syntax error>"


def _parse_tokens(parser, tokens, reporter: Reporter, UnexpectedToken, Token) -> Module:
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
        outcome = _feed(parser, tokens, UnexpectedToken, Token)
        if isinstance(outcome, Module):
            return Module(_attach_shortcuts(done + list(outcome.statements)))
        index, boundary, top, expected, previous, open_braces = outcome
        if top > 0:  # everything before `top` parses: set it aside
            prefix = _feed(parser, tokens[:top], UnexpectedToken, Token)
            if isinstance(prefix, Module):
                done.extend(prefix.statements)
                tokens = tokens[top:]
                index, boundary = index - top, boundary - top
        if index == len(tokens):  # the input ended inside a statement or a body
            _report_eof(reporter, tokens, expected, previous, open_braces, Token)
            closing = [
                Token("RBRACE", "}", start_pos=brace.end_pos, end_pos=brace.end_pos)
                for brace in reversed(open_braces)
            ]
            # Keep the unfinished statement when closing the braces completes it.
            outcome = _feed(parser, tokens + closing, UnexpectedToken, Token)
            if not isinstance(outcome, Module):
                filler = _placeholder(tokens, boundary, len(tokens), Token)
                outcome = _feed(parser, tokens[:boundary] + filler + closing, UnexpectedToken, Token)
            rest = list(outcome.statements) if isinstance(outcome, Module) else []
            return Module(_attach_shortcuts(done + rest))
        token = tokens[index]
        if token.type == "RBRACE" and not open_braces:
            _report_unmatched(reporter, token)
            tokens = tokens[:index] + tokens[index + 1 :]
            continue
        if previous is not None and previous.type == "RBRACE" and "_SEP" in expected:
            # `repeat 2 { relu } pool 2`: a statement after '}' needs its own line.
            _report_missing_separator(reporter, token, previous)
            if token.type in _STATEMENT_STARTS:
                separator = Token("_SEP", ";", start_pos=token.start_pos, end_pos=token.start_pos)
                tokens = tokens[:index] + [separator] + tokens[index:]
            else:  # not a statement either: skip to the end of the line
                resume = max(index + 1, _skip_statement(tokens, index, bool(open_braces)))
                tokens = tokens[:index] + tokens[resume:]
            continue
        resume = _skip_statement(tokens, index, bool(open_braces))
        following = _next_token(tokens, index) if token.type == "_SEP" else None
        if following is not None and tokens[following].type == "LBRACE":
            # A header broken at the end of its line, its '{' on the next line
            # (`repeat 2` / `{`): the body belongs to the broken statement.
            if "LBRACE" in expected:
                _report_brace_on_next_line(reporter, token, tokens[following], previous)
            else:
                _report_unexpected(reporter, token, expected, previous, bool(open_braces), tokens[boundary] if boundary < index else None)
            resume = _skip_statement(tokens, following, bool(open_braces))
            tokens = tokens[:boundary] + _placeholder(tokens, boundary, resume, Token) + tokens[resume:]
            continue
        _report_unexpected(reporter, token, expected, previous, bool(open_braces), tokens[boundary] if boundary < index else None)
        if resume == boundary:  # nothing would be dropped: drop the bad token
            tokens = tokens[:index] + tokens[index + 1 :]
            continue
        tokens = tokens[:boundary] + _placeholder(tokens, boundary, resume, Token) + tokens[resume:]
    reporter.report(
        "E0001",
        Span(tokens[-1].start_pos, tokens[-1].end_pos) if tokens else Span(0, 0),
        f"too many syntax errors; stopped after {MAX_SYNTAX_ERRORS}",
    )
    return Module(())


def _placeholder(tokens, start: int, end: int, Token) -> list:
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


_STATEMENT_STARTS = frozenset({"WORD", "BLOCK", "REPEAT", "RESIDUAL", "SHORTCUT"})


def _report_missing_separator(reporter: Reporter, token, brace) -> None:
    line = reporter.source.line_of(brace.start_pos)
    reporter.report(
        "E0001",
        Span(token.start_pos, token.end_pos),
        f"expected a new line or ';' after '}}', found {_describe(token)}",
        label="a new statement starts here",
        related=[(Span(brace.start_pos, brace.end_pos), "the body closes here")],
        help=f"put a ';' or a line break after the '}}' on line {line}",
    )


def _next_token(tokens, index: int) -> int | None:
    """The index of the first token after `index` that is not a separator."""
    for following in range(index + 1, len(tokens)):
        if tokens[following].type != "_SEP":
            return following
    return None


def _feed(parser, tokens, UnexpectedToken, Token):
    """One pass: the module, or where it failed and the state at that point.

    On failure: (index of the bad token, index after the last statement
    boundary, index after the last top-level boundary, the expected
    terminals, the token before the bad one, the braces open there).
    """
    interactive = parser.parse_interactive()
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
    wanted = _expected(set(expected), previous, bool(open_braces))
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


def _report_brace_on_next_line(reporter: Reporter, newline, brace, previous) -> None:
    line = reporter.source.line_of(newline.start_pos)
    reporter.report(
        "E0001",
        Span(brace.start_pos, brace.end_pos),
        f"the '{{' must be on the same line as the statement it opens (line {line})",
        label="this '{' is on a new line",
        related=[(Span(previous.start_pos, previous.end_pos), "the statement ends here")] if previous is not None else [],
        help=f"move the '{{' up to the end of line {line}",
    )


def _report_unexpected(reporter: Reporter, token, expected, previous, inside_body: bool = False, command=None) -> None:
    span = Span(token.start_pos, token.end_pos)
    if token.type == "_SEP" and str(token) != ";":  # point at the end of the line, not across it
        span = Span(token.start_pos, token.start_pos)
    if token.type == "LBRACE" and previous is not None and previous.type in ("WORD", "STRAY"):
        reporter.report(
            "E0001",
            span,
            "unexpected '{': only block, repeat, residual and shortcut open a body",
            label="a layer statement cannot take '{ ... }'",
        )
        return
    wanted = _expected(set(expected), previous, inside_body)
    if previous is not None and previous.type == "COMMA" and command is not None and command.type == "WORD":
        # A comma in a command (not a block's parameter list) separates `where` bounds.
        wanted = "another bound after ',', like 'W >= 32'"
    if command is not None and command.type == "WORD" and "WHERE" in expected:
        from ..layers import expected_words, lookup  # the layer table knows its options

        kind = lookup(str(command))
        end = "'}', a new line or ';'" if inside_body else "a new line or ';'"
        words = expected_words(kind) if kind is not None else "an argument"
        wanted = (f"{words}, " if words != "nothing more" else "") + end
        if token.type == "LPAR" and kind is None:
            reporter.report(
                "E0001",
                span,
                "unexpected '(': a block call takes its arguments without parentheses",
                label="no parentheses here",
                help=f"write it like: {command} 64, not {command}(64)",
            )
            return
    found = _describe(token)
    message = f"expected {wanted}, found {found}"
    if token.type == "STRAY":
        message = f"{found}: expected {wanted}"
    reporter.report("E0001", span, message, label=f"expected {wanted}")
