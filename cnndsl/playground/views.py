"""HTML fragments the page shows: the summary table, a diagnostic's tooltip,
the verification report. Every piece of the program's text is escaped here;
the page only places the fragments (and its Content-Security-Policy forbids
inline scripts, so even a mistake here could not run code)."""

from __future__ import annotations

from html import escape

from .adapter import Overview, Problem, Verified


def _number(value: int) -> str:
    return f"{value:,}"


def _bytes(value: int) -> str:
    return f"{value / 1_000_000:,.2f} MB"


def summary_parts(overview: Overview) -> dict:
    """`cnnc summary`'s table in pieces, so that the page replaces only the rows
    that changed: the title, a row per layer (data-layer, data-lines), the
    total row, and the facts under the table (output, sizes, memory)."""
    rows = []
    if overview.input is not None:
        rows.append(f'<tr class="input"><td></td><td>input</td><td>{escape(overview.input)}</td><td></td><td></td></tr>')
    for row in overview.rows:
        where = str(row.line) + (f" ({row.calls[0]})" if row.calls else "")
        lines = " ".join(map(str, (row.line, *row.calls)))
        title = f' title="{escape(chr(10).join(row.arithmetic))}"' if row.arithmetic else ""
        indent = f' style="padding-left:{0.3 + 1.2 * row.depth:.1f}em"' if row.depth else ""
        rows.append(
            f'<tr data-layer="{row.index}" data-lines="{lines}"{title}>'
            f'<td class="num">{where}</td><td{indent}>{escape(row.module.removeprefix("nn."))}</td>'
            f"<td>{escape(row.output)}</td><td class=\"num\">{_number(row.params)}</td>"
            f'<td class="num">{escape(row.macs)}</td></tr>'
        )
    total = (
        f'<tr class="total"><td>total</td><td>{len(overview.rows)} layers</td><td></td>'
        f'<td class="num">{_number(overview.total_params)}</td><td class="num">{escape(overview.total_macs)}</td></tr>'
    )
    facts = []
    if overview.output is not None:
        facts.append(f"<p>output <strong>{escape(overview.output)}</strong> ({escape(overview.output_noun or '')})</p>")
    if overview.sizes:
        facts.append(
            f"<p>sizes: {escape(overview.sizes)}; <code>//</code> is floor division. "
            "MACs and memory depend on the input size (<code>cnnc summary FILE --size 224x224</code>).</p>"
        )
    if overview.memory:
        memory = "".join(
            f'<tr><td>{escape(label)}</td><td class="num">{_number(value)} B</td><td class="num">{_bytes(value)}</td></tr>'
            for label, value in overview.memory
        )
        facts.append(
            f'<table class="memory"><caption>memory ({escape(overview.memory_note)}, as torchinfo counts it)</caption>'
            f"<tbody>{memory}</tbody></table>"
        )
    return {"title": escape(overview.network), "rows": rows, "total": total, "facts": "".join(facts)}


def problem_html(problem: Problem) -> str:
    """A diagnostic as `cnnc check` words it: code and message, the label, notes, help."""
    parts = [
        f'<div class="diag {escape(problem.severity)}"><div class="diag-head">'
        f'<span class="diag-code">{escape(problem.severity)}[{escape(problem.code)}]</span> {escape(problem.message)}</div>'
    ]
    if problem.label:
        parts.append(f'<div class="diag-label">{escape(problem.label)}</div>')
    parts.extend(f'<div class="diag-note">note: {escape(note)}</div>' for note in problem.notes)
    if problem.help:
        parts.append(f'<div class="diag-help">help: {escape(problem.help)}</div>')
    parts.append("</div>")
    return "".join(parts)


def verification_html(verified: Verified) -> str:
    verdict = "ok" if verified.ok else "failed"
    return f'<pre class="verify-report {verdict}">{escape(verified.report)}</pre>'
