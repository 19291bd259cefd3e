"""Source text -> syntax tree (cnndsl.syntax.nodes), with recovery at statements.

The package, by job:

- `grammar.py`: grammar/cnn.lark as a running parser (Lark's standalone
  LALR parser) and its tokens;
- `builder.py`: the parser's reductions -> nodes;
- `recovery.py`: after a syntax error, skip the broken statement, report,
  go on (one run reports every independent error);
- `messages.py`: the wording of those errors;
- `incremental.py`: the language server's parse cache (re-parse only the
  statements an edit changed);
- this module: `parse`, what everything else calls.
"""

from __future__ import annotations

import gc

from ..diagnostics.model import Reporter
from .messages import LayerArguments
from .nodes import Module
from .source import Span


def parse(reporter: Reporter, layer_arguments: LayerArguments | None = None) -> Module:
    """Parse the reporter's source; syntax errors are reported, never raised.

    `layer_arguments(name)` words what may follow a layer's name ("a layer
    option like k3 or s2"), or gives None for a name that is not a layer; the
    driver (cnndsl.compiler) passes the layer table's. Without it, messages
    say "an argument".
    """
    from .grammar import UnexpectedInput
    from .recovery import parse_tokens, read_file_tokens

    # Python's cyclic GC makes big parses superlinear; the tree has no cycles.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        try:
            found = read_file_tokens(reporter.source.text, reporter)
        except UnexpectedInput as error:  # the grammar's STRAY should make this impossible
            offset = getattr(error, "pos_in_stream", 0) or 0
            reporter.report("E0001", Span(offset, offset + 1), "unexpected character")
            return Module(())
        return parse_tokens(found, reporter, layer_arguments)
    finally:
        if gc_was_enabled:
            gc.enable()
