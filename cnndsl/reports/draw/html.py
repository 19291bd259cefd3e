"""`cnnc draw -o FILE.html`: the diagram and the summary table on one page."""

from __future__ import annotations

from ...check.typed import TypedProgram
from .svg import MONO, SANS, drawn_at, render_svg

def render_html(program: TypedProgram, max_width: float = 1500, at: TypedProgram | None = None) -> str:
    """A standalone page: the diagram and the summary table (for a symbolic program, also at the drawn size)."""
    from html import escape

    from ..summary import render_table

    drawn = drawn_at(program, at)
    svg = render_svg(program, max_width, drawn.program if drawn is not None else None).split("\n", 1)[1]
    table = render_table(program, explain=False)
    if drawn is not None:
        table += f"\nat {drawn.label}:\n\n" + render_table(drawn.program, explain=False)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{escape(program.name)} · cnnc draw</title>\n"
        "<style>body{margin:24px;font-family:" + SANS + ";color:#263238;background:#fff}"
        "svg{max-width:100%;height:auto}pre{font-family:" + MONO + ";font-size:13px;background:#f5f7fa;"
        "padding:12px;border-radius:6px;overflow-x:auto}</style>\n</head>\n<body>\n"
        + svg
        + f"<h2>Summary</h2>\n<pre>{escape(table)}</pre>\n</body>\n</html>\n"
    )
