"""The language server's parse cache: after an edit, re-parse only what changed.

A top-level statement ends at a newline or ';' outside every brace, and no
token crosses such a separator ('#' always starts a comment, braces are
always their own tokens). After one, the parser is where it is at the start
of the file, and recovery never looks past it (it skips to the next
top-level separator, or to the '}' that closes the body it is in), with one
exception: a header whose '{' is on a later line is one statement with it.
So the file splits into chunks that parse on their own, and a chunk whose
text did not change parses to the same statements, at shifted offsets.
"""

from __future__ import annotations

import gc
import re

from ..diagnostics.model import Reporter
from .builder import attach_shortcuts
from .grammar import UnexpectedInput
from .messages import LayerArguments
from .nodes import STATEMENTS, Body, Bound, Command, KeywordArg, Module, Word
from .parser import parse
from .recovery import MAX_SYNTAX_ERRORS, parse_tokens, read_tokens, within_file_limits
from .source import Span
from .visitor import Visitor

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

    def parse(self, reporter: Reporter, layer_arguments: LayerArguments | None = None) -> Module:
        """As `parse(reporter, layer_arguments)`, reusing what the last call parsed."""
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._parse(reporter, layer_arguments)
        finally:
            if gc_was_enabled:
                gc.enable()

    def _parse(self, reporter: Reporter, layer_arguments: LayerArguments | None) -> Module:
        text = reporter.source.text
        old, records = self._text, self._records
        first_diagnostic = len(reporter.diagnostics)
        statements: list = []
        new_records: list = []
        self.reused = self.parsed = 0
        by_text: dict[str, tuple[int, tuple]] | None = None
        if not within_file_limits(text):  # reading stops at a file limit: parse() says where
            return self._full(reporter, first_diagnostic, layer_arguments)

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
                found_tokens = read_tokens(chunk, reporter, start)
            except UnexpectedInput:  # not expected (STRAY takes anything): let the full parse say it
                return False
            found = parse_tokens(found_tokens, reporter, layer_arguments).statements
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
                return self._full(reporter, first_diagnostic, layer_arguments)
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
                    found = _Shift(start - moved).all(found)
            if not take(start, end, deepest, chunk, found):
                return self._full(reporter, first_diagnostic, layer_arguments)
        if tail is not None:
            shift = _Shift(delta)
            for start, end, deepest, chunk, found in records[tail:]:
                if found is not None:  # moved by delta
                    if delta:
                        found = shift.all(found)
                    new_records.append((start + delta, end + delta, deepest, chunk, found))
                    statements.extend(found)
                    self.reused += 1
                elif not take(start + delta, end + delta, deepest, chunk, None):
                    return self._full(reporter, first_diagnostic, layer_arguments)
        self._text, self._records = text, new_records
        return Module(attach_shortcuts(statements))

    def _full(self, reporter: Reporter, first_diagnostic: int, layer_arguments: LayerArguments | None) -> Module:
        del reporter.diagnostics[first_diagnostic:]
        self._text, self._records = "", []
        return parse(reporter, layer_arguments)


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


class _Shift(Visitor):
    """A statement (or body, argument, bound) with every span moved by `delta`: a new node."""

    walks = (*STATEMENTS, Body, KeywordArg, Bound, Word)

    def __init__(self, delta: int) -> None:
        self.delta = delta

    def all(self, nodes: tuple) -> tuple:
        methods = self.methods  # visit(), without a call per statement
        return tuple([methods[node.__class__](self, node) for node in nodes])

    def visit_Command(self, node: Command) -> Command:  # the common case: every statement after an edit
        delta = self.delta
        return Command(
            _moved_word(node.name, delta),
            tuple([_moved_word(arg, delta) if type(arg) is Word else self.visit(arg) for arg in node.args]),
            self.all(node.bounds) if node.bounds else (),
            _moved(node.span, delta),
        )

    def visit_Word(self, node: Word) -> Word:
        return _moved_word(node, self.delta)

    def visit_KeywordArg(self, node: KeywordArg) -> KeywordArg:
        return KeywordArg(_moved_word(node.key, self.delta), _moved_word(node.value, self.delta), _moved(node.span, self.delta))

    def visit_Bound(self, node: Bound) -> Bound:
        modulus = None if node.modulus is None else _moved_word(node.modulus, self.delta)
        return Bound(_moved_word(node.symbol, self.delta), _moved_word(node.minimum, self.delta), _moved(node.span, self.delta), modulus)

    def visit_Body(self, node: Body) -> Body:
        return Body(self.all(node.statements), _moved(node.span, self.delta))

    def visit_statement(self, node):
        """A statement with a body: every field moved, in order (spans, words, tuples of words, bodies)."""
        return type(node)(*[self.moved(getattr(node, name)) for name in node.__slots__])

    visit_BlockDef = visit_Repeat = visit_Residual = visit_Shortcut = visit_statement
    visit_Concat = visit_Split = visit_Branch = visit_Gate = visit_statement

    def moved(self, value):
        if value is None:
            return None
        if type(value) is Span:
            return _moved(value, self.delta)
        if type(value) is tuple:  # a block's parameters
            return self.all(value)
        return self.visit(value)  # a word or a body
