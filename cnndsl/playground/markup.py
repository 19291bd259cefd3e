"""The hover's Markdown, as HTML for the page.

The language server writes its hover in a small part of Markdown: paragraphs,
`**bold**`, `_italic_`, `` `code` ``, fenced code blocks, pipe tables, `- `
lists, `---` rules and a line break at two trailing spaces. This renders
exactly that part; every piece of text is escaped first, so a program's own
words (a network named `<script>`) stay text.
"""

from __future__ import annotations

import html
import re

_INLINE = re.compile(r"`([^`]+)`|\*\*(.+?)\*\*|(?<![\w])_(.+?)_(?![\w])")
_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def inline(text: str) -> str:
    """Code spans, bold and italic; everything else escaped."""
    out, last = [], 0
    for match in _INLINE.finditer(text):
        out.append(html.escape(text[last : match.start()]))
        code, bold, italic = match.groups()
        if code is not None:
            out.append(f"<code>{html.escape(code)}</code>")
        elif bold is not None:
            out.append(f"<strong>{inline(bold)}</strong>")
        else:
            out.append(f"<em>{inline(italic)}</em>")
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def to_html(markdown: str) -> str:
    """The hover's Markdown as an HTML fragment."""
    lines = markdown.split("\n")
    out: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            parts = []
            for index, line in enumerate(paragraph):
                parts.append(inline(line.rstrip()))
                if index < len(paragraph) - 1:
                    parts.append("<br>" if line.endswith("  ") else " ")
            out.append("<p>" + "".join(parts) + "</p>")
            paragraph.clear()

    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            end = index + 1
            while end < len(lines) and not lines[end].strip().startswith("```"):
                end += 1
            out.append("<pre>" + html.escape("\n".join(lines[index + 1 : end])) + "</pre>")
            index = end + 1
            continue
        if stripped.startswith("|") and index + 1 < len(lines) and _TABLE_RULE.match(lines[index + 1].strip()):
            flush()
            header = _cells(line)
            rule = _cells(lines[index + 1])
            right = [cell.endswith(":") for cell in rule]
            rows = []
            end = index + 2
            while end < len(lines) and lines[end].strip().startswith("|"):
                rows.append(_cells(lines[end]))
                end += 1

            def cell(tag: str, text: str, column: int) -> str:
                style = ' class="num"' if column < len(right) and right[column] else ""
                return f"<{tag}{style}>{inline(text)}</{tag}>"

            head = "".join(cell("th", text, i) for i, text in enumerate(header))
            body = "".join("<tr>" + "".join(cell("td", text, i) for i, text in enumerate(row)) + "</tr>" for row in rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            index = end
            continue
        if stripped == "---":
            flush()
            out.append("<hr>")
        elif stripped.startswith("- "):
            flush()
            items = []
            while index < len(lines) and lines[index].strip().startswith("- "):
                items.append(f"<li>{inline(lines[index].strip()[2:])}</li>")
                index += 1
            out.append("<ul>" + "".join(items) + "</ul>")
            continue
        elif not stripped:
            flush()
        else:
            paragraph.append(line)
        index += 1
    flush()
    return "".join(out)
