"""`cnnc draw`: a self-contained, deterministic SVG of the typed program."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import cnndsl
from cnndsl.cli.main import main
from cnndsl.reports.draw import layer_words, render_html, render_svg
from cnndsl.check.typed import TypedConcat, TypedGate, TypedResidual, walk
from cnndsl.compiler import instantiate

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.cnn"))
SVG = "{http://www.w3.org/2000/svg}"


def program_of(path: Path):
    program = cnndsl.check_program(path.read_text(), path.name)
    assert program.ok
    return program


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg.encode())
    assert root.tag == f"{SVG}svg"
    return root


def _inline(node: TypedConcat):
    """The branch drawn inline: the one with the most layers (the first of those)."""
    sizes = [len(walk(branch.body)) for branch in node.branches]
    return node.branches[sizes.index(max(sizes))]


def residuals(nodes, kind=TypedResidual):
    """The residuals (or joins, gates) drawn as nodes: all but those inside a shortcut
    or a branch drawn as an arc (whose layers are written on the arc)."""
    for node in nodes:
        if isinstance(node, kind):
            yield node
        if isinstance(node, (TypedResidual, TypedGate)):
            yield from residuals(node.body, kind)
        elif isinstance(node, TypedConcat):
            yield from residuals(_inline(node).body, kind)


def main_path(nodes):
    """Leaf layers outside shortcuts (a shortcut's layers are written on its arc), and
    of a concat's or split's inline branch, the one with the most layers (the others
    are written on their arcs)."""
    for node in nodes:
        if isinstance(node, (TypedResidual, TypedGate)):
            yield from main_path(node.body)
        elif isinstance(node, TypedConcat):
            yield from main_path(_inline(node).body)
        else:
            yield node


def shape_changes(program):
    """The types a box must be drawn for: the input, then every new map or vector."""
    return [str(program.input)] + [
        str(layer.output) for layer in main_path(program.nodes) if bool(layer.macs) or layer.output != layer.input
    ]


def is_subsequence(needle, haystack) -> bool:
    items = iter(haystack)
    return all(any(item == wanted for item in items) for wanted in needle)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_layer_appears_once_with_its_line_and_kind(path):
    program = program_of(path)
    root = parse(render_svg(program))
    tagged = [e for e in root.iter() if "data-layer" in e.attrib]
    indices = sorted(int(e.get("data-layer")) for e in tagged)
    assert indices == list(range(len(program.layers)))
    for element in tagged:
        layer = program.layers[int(element.get("data-layer"))]
        assert element.get("data-line") == str(layer.line)
        assert element.get("data-kind") == layer.kind.name
        title = element.find(f"{SVG}title")
        assert title is not None and layer.module in title.text and f"{layer.params:,} params" in title.text
        assert layer_words(layer) in "".join(element.itertext())
    # The boxes, in order, carry the types the checker computed.
    boxes = [e.get("data-shape") for e in root.iter() if e.get("class") in ("map", "vector")]
    assert is_subsequence(shape_changes(program), boxes)
    assert set(boxes) <= {str(program.input)} | {str(layer.output) for layer in main_path(program.nodes)}
    assert boxes[0] == str(program.input)
    # One (+) per residual, one coloured arc per projection shortcut.
    found = list(residuals(program.nodes))
    assert len([e for e in root.iter() if e.get("class") in ("add", "kept")]) == len(found)  # kept: a long skip (TypedSkip)
    # A join node per concat or split, an arc per branch not drawn inline; a (x) and an arc per gate.
    joins, gates = list(residuals(program.nodes, TypedConcat)), list(residuals(program.nodes, TypedGate))
    assert len([e for e in root.iter() if e.get("class") == "concat"]) == len(joins)
    assert len([e for e in root.iter() if e.get("class") == "gate"]) == len(gates)
    arcs = [e for e in root.iter() if (e.get("class") or "").startswith("skip")]
    assert len(arcs) == len(found) + sum(len(j.branches) - 1 for j in joins) + len(gates)
    assert sum("projection" in e.get("class") for e in arcs) == sum(bool(r.shortcut) for r in found)
    branch_arcs = [b for j in joins for b in j.branches if b is not _inline(j) and walk(b.body)]
    assert sum("branch" in e.get("class") for e in arcs) == len(branch_arcs)


def test_quiz_boxes_and_labels():
    program = program_of(ROOT / "examples" / "quiz.cnn")
    root = parse(render_svg(program))
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    for label in ["130x130x3", "128x128x10", "32x32x10", "32x32x20", "16x16x20", "5120", "10"]:
        assert label in texts
    boxes = [e.get("data-shape") for e in root.iter() if e.get("class") in ("map", "vector")]
    assert boxes == shape_changes(program) == ["130x130x3", "128x128x10", "32x32x10", "32x32x20", "16x16x20", "5120", "10"]
    labels = [t for t in root.iter(f"{SVG}text") if t.get("class") == "layer"]
    assert [layer_words_of(t) for t in labels] == ["conv 10 k3", "pool 4", "conv 20 k5 p2", "pool 2", "flatten", "linear 10"]
    assert "280 params" in texts and "5,020 params" in texts and "51,210 params" in texts
    header = "".join(next(e for e in root.iter() if e.get("class") == "header").itertext())
    assert "56,510 parameters" in header and "input 130x130x3" in header and "output 10" in header


def layer_words_of(element) -> str:
    return "".join(element.itertext()).replace(element.find(f"{SVG}title").text, "")


def test_blocks_are_framed_with_their_resolved_calls():
    program = program_of(ROOT / "examples" / "resnet34.cnn")
    root = parse(render_svg(program))
    frames = [e for e in root.iter() if e.get("class") == "block"]
    titles = ["".join(f.find(f"{SVG}title").itertext()) for f in frames]
    assert any(t.startswith("stage 256 5:") for t in titles)
    # `down c` inside `stage 256 5` is shown with its value.
    assert any(t.startswith("down 256:") and "called as 'down c'" in t for t in titles)
    labels = ["".join(t.itertext()) for f in frames for t in f.iter(f"{SVG}text")]
    assert "basic 64" in labels and "stage 256 5 (continued)" in labels
    # Every block call expanded in the program is framed at least once.
    calls = {c.resolved for layer in program.layers for c in layer.calls}
    assert calls <= {t.split(":")[0] for t in titles}


def test_long_networks_wrap_into_rows_no_wider_than_asked():
    program = program_of(ROOT / "examples" / "resnet34.cnn")
    for width in (900, 1500):
        root = parse(render_svg(program, max_width=width))
        assert float(root.get("width")) <= width + 120
        assert len([e for e in root.iter() if e.get("class") == "wrap"]) >= 2
    # Wide enough, ResNet-18 still wraps at least once, and the quiz never does.
    quiz = parse(render_svg(program_of(ROOT / "examples" / "quiz.cnn")))
    assert not [e for e in quiz.iter() if e.get("class") == "wrap"]


def test_output_is_deterministic_and_self_contained():
    program = program_of(ROOT / "examples" / "resnet18.cnn")
    first = render_svg(program)
    again = render_svg(program_of(ROOT / "examples" / "resnet18.cnn"))
    assert first == again
    assert "<image" not in first and "@import" not in first and "http" not in first.replace("http://www.w3.org/2000/svg", "")
    assert re.findall(r"url\(([^)]*)\)", first) and all(u.startswith("#") for u in re.findall(r"url\(([^)]*)\)", first))
    root = parse(first)
    width, height = float(root.get("width")), float(root.get("height"))
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    assert width > 500 and height > 300


def test_text_is_escaped():
    program = cnndsl.check_program("input 8x8x1\nconv 4 k3\n", "a<b>&c.cnn")
    svg = render_svg(program)
    root = parse(svg)
    assert "a<b>&c.cnn" in "".join(root.itertext())


def test_html_page_holds_the_diagram_and_the_summary():
    program = program_of(ROOT / "examples" / "quiz.cnn")
    page = render_html(program)
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page and "Linear(5120, 10)" in page and "56,510" in page
    assert "<?xml" not in page


def test_programs_with_errors_are_refused():
    program = cnndsl.check_program("input 3x3x3\nconv 20 k5\n", "bad.cnn")
    with pytest.raises(ValueError):
        render_svg(program)


# A few building blocks that always type, on an 16x16x4 input.
PIECES = [
    "conv 4 k3 p1",
    "conv 4 k3 p1 relu",
    "bn",
    "relu",
    "dropout 0.1",
    "pool 1",
    "residual { conv 4 k3 p1; bn }",
    "residual { relu } shortcut { conv 4 k1 }",
    "residual { residual { conv 4 k1 } ; relu }",
    "residual { }",
    "residual { conv 4 k1 } shortcut { residual { bn } }",
    "same",
    "same2",
    "repeat 2 { conv 4 k1 }",
    "keep s; conv 4 k3 p1; cat s; conv 4 k1",
    "keep s; conv 4 k3 p1; add s",
]
# (`keep` is a statement since issue 18: these blocks were called keep and keep2)
BLOCKS = "block same() { conv 4 k3 p1; bn; relu }\nblock same2() { same; residual { same } }\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.lists(st.sampled_from(PIECES), max_size=14), head=st.booleans(), width=st.integers(300, 2000))
def test_random_programs_draw_every_layer(body, head, width):
    text = BLOCKS + "input 16x16x4\n" + "\n".join(body) + ("\nflatten\nlinear 10 relu\ndropout 0.5\nlinear 3\n" if head else "\n")
    program = cnndsl.check_program(text, "random.cnn")
    assert program.ok, program.diagnostics
    root = parse(render_svg(program, max_width=width))
    indices = sorted(int(e.get("data-layer")) for e in root.iter() if "data-layer" in e.attrib)
    assert indices == list(range(len(program.layers)))
    assert len([e for e in root.iter() if e.get("class") in ("add", "kept")]) == len(list(residuals(program.nodes)))


# -- symbolic input sizes ---------------------------------------------------

SYMBOLIC = """\
network Sym
input HxWx3 where H >= 32, W >= 32
conv 16 k3 s2 p1 relu
pool 3 s2 p1
residual { conv 16 k3 p1; bn }
block down(c) {
  residual { conv c k3 s2 p1 } shortcut { conv c k1 s2 }
}
down 32
avgpool to 1
flatten
linear 10
"""


def symbolic_program(text: str = SYMBOLIC):
    program = cnndsl.check_program(text, "sym.cnn")
    assert program.ok and program.symbolic, program.diagnostics
    return program


def boxes_of(root) -> list[ET.Element]:
    return [e for e in root.iter() if e.get("class") in ("map", "vector")]


def front_faces(root) -> list[tuple[float, float]]:
    """Width and height of each box's front face (the prism's third polygon)."""
    faces = []
    for box in boxes_of(root):
        points = [tuple(map(float, p.split(","))) for p in box.findall(f"{SVG}polygon")[2].get("points").split()]
        faces.append((round(points[1][0] - points[0][0], 1), round(points[2][1] - points[1][1], 1)))
    return faces


def header_text(root) -> str:
    return "".join(next(e for e in root.iter() if e.get("class") == "header").itertext())


def test_a_symbolic_program_is_drawn_at_its_smallest_size_with_symbolic_labels():
    program = symbolic_program()
    assert program.smallest_size() == (32, 32)
    at = instantiate(program, 32, 32)
    root = parse(render_svg(program))
    boxes = boxes_of(root)
    # The labels and data-shape are the symbolic types; data-size is the type at 32x32.
    assert [b.get("data-shape") for b in boxes][:3] == ["HxWx3", "(H+1)//2 x (W+1)//2 x 16", "(H+3)//4 x (W+3)//4 x 16"]
    assert is_subsequence(shape_changes(program), [b.get("data-shape") for b in boxes])
    at_size = {str(program.input): str(at.input)}
    at_size.update({str(a.output): str(b.output) for a, b in zip(program.layers, at.layers)})
    assert [b.get("data-size") for b in boxes] == [at_size[b.get("data-shape")] for b in boxes]
    assert [b.get("data-size") for b in boxes][:3] == ["32x32x3", "16x16x16", "8x8x16"]
    types = ["".join(t.itertext()) for t in root.iter(f"{SVG}text") if t.get("class") == "type"]
    assert "(H+7)//8 x (W+7)//8 x 32" in types and "16x16x16" not in types
    # The header: the MACs at the drawn size, and which size that is.
    header = header_text(root)
    assert f"{at.total_macs:,} MACs at 32x32" in header
    assert "drawn at 32x32; sizes H >= 32, W >= 32" in header
    # Tooltips carry the numbers at the drawn size.
    conv = next(e for e in root.iter() if e.get("data-layer") == "0")
    assert f"at 32x32: 32x32x3 -> 16x16x16, {at.layers[0].macs:,} MACs" in conv.find(f"{SVG}title").text
    assert "16x16x16 at 32x32" in boxes[1].find(f"{SVG}title").text


def test_the_boxes_have_the_proportions_of_the_drawn_size():
    program = symbolic_program()
    fixed = cnndsl.check_program(SYMBOLIC.replace("HxWx3 where H >= 32, W >= 32", "224x160x3"), "fixed.cnn")
    assert fixed.ok
    at = instantiate(program, 224, 160)
    drawn = parse(render_svg(program, at=at))
    # Box for box, the symbolic program at 224x160 is the fixed-size program's picture
    # (to the 0.1 px the coordinates are written with).
    faces, expected = front_faces(drawn), front_faces(parse(render_svg(fixed)))
    assert len(faces) == len(expected)
    assert all(abs(a - b) <= 0.11 for face, want in zip(faces, expected) for a, b in zip(face, want))
    smallest = front_faces(parse(render_svg(program)))  # at 32x32: smaller maps
    assert smallest[0][1] < faces[0][1] and smallest[1][1] < faces[1][1]
    assert "drawn at 224x160" in header_text(drawn)
    assert [b.get("data-size") for b in boxes_of(drawn)][:2] == ["224x160x3", "112x80x16"]


def test_long_symbolic_types_are_written_on_two_lines():
    program = symbolic_program("network C\ninput IMG_HEIGHTxIMG_WIDTHx3\nconv 8 k3 s2 p1\nrepeat 2 { conv 8 k3 s2 p1 }\n")
    long = str(program.output)
    assert len(long) > 30
    root = parse(render_svg(program))
    types = ["".join(t.itertext()) for t in root.iter(f"{SVG}text") if t.get("class") == "type"]
    assert f"{program.output.height} x" in types and f"{program.output.width} x 8" in types
    assert long not in types
    assert boxes_of(root)[-1].get("data-shape") == long


def test_symbolic_programs_cannot_be_drawn_at_a_size_they_do_not_admit():
    program = symbolic_program()
    with pytest.raises(ValueError):
        render_svg(program, at=program)  # not an instance
    fixed = program_of(ROOT / "examples" / "quiz.cnn")
    with pytest.raises(ValueError):
        render_svg(fixed, at=instantiate(program, 32, 32))
    with pytest.raises(ValueError):
        instantiate(program, 31, 32)  # below the bound: the command line turns this into a usage error


SYMBOLIC_PIECES = ["conv 4 k3 p1", "conv 4 k3 s2 p1 relu", "pool 2", "pool 3 s2 ceil", "bn", "relu",
                   "residual { conv 4 k3 p1; bn }", "residual { relu } shortcut { conv 4 k1 }",
                   "residual { conv 4 k3 s2 p1 } shortcut { conv 4 k1 s2 }", "same", "repeat 2 { conv 4 k1 }"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.lists(st.sampled_from(SYMBOLIC_PIECES), max_size=10), head=st.booleans(),
       bound=st.sampled_from(["", " where H >= 40", " where H >= 9, W >= 17"]), extra=st.tuples(st.integers(0, 40), st.integers(0, 40)))
def test_random_symbolic_programs_draw_at_any_admissible_size(body, head, bound, extra):
    text = BLOCKS + f"input HxWx4{bound}\n" + "\n".join(body) + ("\navgpool to 1\nflatten\nlinear 3\n" if head else "\n")
    program = cnndsl.check_program(text, "random.cnn")
    assume(not any(d.code == "E0071" for d in program.diagnostics))  # a written bound too small for the strides
    assert program.ok, program.diagnostics
    height, width = program.smallest_size()
    for at in (None, instantiate(program, height + extra[0], width + extra[1])):
        root = parse(render_svg(program, max_width=900, at=at))
        indices = sorted(int(e.get("data-layer")) for e in root.iter() if "data-layer" in e.attrib)
        assert indices == list(range(len(program.layers)))
        drawn = at.input if at is not None else f"{height}x{width}x4"
        assert boxes_of(root)[0].get("data-size") == str(drawn)


# -- the command ------------------------------------------------------------


def test_cli_writes_the_svg_atomically(tmp_path, capsys):
    source = tmp_path / "quiz.cnn"
    source.write_text((ROOT / "examples" / "quiz.cnn").read_text())
    assert main(["draw", str(source)]) == 0
    written = tmp_path / "quiz.svg"
    parse(written.read_text())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quiz.cnn", "quiz.svg"]
    assert main(["draw", str(source), "-o", str(tmp_path / "page.html")]) == 0
    assert (tmp_path / "page.html").read_text().startswith("<!DOCTYPE html>")
    capsys.readouterr()
    assert main(["draw", str(source), "-o", "-", "--format", "svg"]) == 0
    parse(capsys.readouterr().out)


def test_cli_errors_write_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.cnn"
    bad.write_text("input 3x3x3\nconv 20 k5\n")
    existing = tmp_path / "bad.svg"
    existing.write_text("keep me")
    assert main(["draw", str(bad)]) == 1
    assert existing.read_text() == "keep me"
    assert "E0030" in capsys.readouterr().err
    assert main(["draw", str(bad), "-o", str(bad)]) == 2
    assert main(["draw", str(tmp_path / "missing.cnn")]) == 2
    assert main(["draw", str(ROOT / "examples" / "quiz.cnn"), "-o", str(tmp_path / "no" / "x.svg")]) == 2
    assert main(["draw", str(ROOT / "examples" / "quiz.cnn"), "--width", "10", "-o", "-"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.cnn", "bad.svg"]


def test_cli_draws_a_symbolic_program_at_a_size(tmp_path, capsys):
    source = tmp_path / "sym.cnn"
    source.write_text(SYMBOLIC)
    assert main(["draw", str(source), "-o", "-"]) == 0
    assert "drawn at 32x32; sizes H &gt;= 32, W &gt;= 32" in capsys.readouterr().out
    assert main(["draw", str(source), "--size", "97x131", "-o", "-"]) == 0
    root = parse(capsys.readouterr().out)
    assert "drawn at 97x131" in header_text(root) and boxes_of(root)[0].get("data-size") == "97x131x3"
    assert main(["draw", str(source), "--size", "64", "-o", str(tmp_path / "page.html")]) == 0
    page = (tmp_path / "page.html").read_text()
    assert "drawn at 64x64" in page and "at 64x64:" in page and "(H+1)//2 x (W+1)//2 x 16" in page
    capsys.readouterr()
    # Sizes the program does not admit, sizes for a fixed input, two sizes: usage errors, nothing written.
    for args, message in (
        (["--size", "31x32"], "below the bound H >= 32"),
        (["--size", "32x32,64x64"], "draw takes one --size"),
        (["--size", "huge"], "--size takes HxW"),
    ):
        assert main(["draw", str(source), *args, "-o", str(tmp_path / "no.svg")]) == 2
        assert message in capsys.readouterr().err
    quiz = ROOT / "examples" / "quiz.cnn"
    assert main(["draw", str(quiz), "--size", "130x130", "-o", str(tmp_path / "no.svg")]) == 2
    assert "--size is for a symbolic input" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html", "sym.cnn"]


def test_cli_draw_does_not_import_torch(tmp_path):
    script = (
        "import sys\n"
        "from cnndsl.cli.main import main\n"
        f"assert main(['draw', {str(ROOT / 'examples' / 'resnet18.cnn')!r}, '-o', {str(tmp_path / 'r.svg')!r}]) == 0\n"
        "assert 'torch' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# -- a real browser (the chromium fixture of tests/conftest.py) ---------------

# Measures the rendered text and boxes in the page and reports any label that
# leaves the picture or overlaps another label or a box.
PROBE = """
<script>
const svg = document.querySelector('svg');
const view = svg.viewBox.baseVal;
const measure = e => { const b = e.getBBox(); return {x: b.x, y: b.y, w: b.width, h: b.height,
  s: (e.getAttribute('data-shape') || e.textContent).trim().slice(0, 60)}; };
const texts = [...svg.querySelectorAll('text')].filter(t => t.textContent.trim()).map(measure);
const boxes = [...svg.querySelectorAll('g.map, g.vector, g.add')].map(measure);
const hit = (a, c) => Math.min(a.x + a.w, c.x + c.w) - Math.max(a.x, c.x) > 1
  && Math.min(a.y + a.h, c.y + c.h) - Math.max(a.y, c.y) > 1;
const out = {texts: texts.length, boxes: boxes.length, outside: [], overlaps: []};
for (const b of [...texts, ...boxes])
  if (b.x < 0 || b.y < 0 || b.x + b.w > view.width || b.y + b.h > view.height) out.outside.push(b.s);
for (let i = 0; i < texts.length; i++) {
  for (let j = i + 1; j < texts.length; j++) if (hit(texts[i], texts[j])) out.overlaps.push([texts[i].s, texts[j].s]);
  for (const b of boxes) if (hit(texts[i], b)) out.overlaps.push([texts[i].s, b.s]);
}
const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out);
document.body.appendChild(pre);
</script>
"""


@pytest.mark.parametrize("name", ["quiz", "resnet18", "mobilenet", "symbolic"])
def test_browser_lays_labels_out_without_overlaps(chromium, tmp_path, name):
    if name == "symbolic":  # symbolic labels, two-line types, the header's size line
        program = symbolic_program(SYMBOLIC.replace("pool 3 s2 p1", "pool 3 s2 ceil\nconv 16 k3 s2 p1"))
    else:
        program = program_of(ROOT / "examples" / f"{name}.cnn")
    svg = render_svg(program).split("\n", 1)[1]
    page = tmp_path / "page.html"
    page.write_text(f"<!DOCTYPE html><html><body style='margin:0'>{svg}{PROBE}</body></html>")
    result = chromium.run("--hide-scrollbars", "--virtual-time-budget=5000", "--dump-dom", page.as_uri())
    match = re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, re.S)
    assert match, result.stderr[-2000:]
    report = json.loads(match[1].replace("&gt;", ">").replace("&lt;", "<").replace("&amp;", "&"))
    boxes = [e for e in parse(svg).iter() if e.get("class") in ("map", "vector", "add")]
    assert report["boxes"] == len(boxes) >= len(shape_changes(program))
    assert report["outside"] == []
    assert report["overlaps"] == []


def test_browser_screenshot_is_not_blank(chromium, tmp_path):
    program = program_of(ROOT / "examples" / "quiz.cnn")
    svg_path = tmp_path / "quiz.svg"
    svg_path.write_text(render_svg(program))
    root = parse(svg_path.read_text())
    size = f"{int(float(root.get('width'))) + 1},{int(float(root.get('height'))) + 1}"
    png = tmp_path / "quiz.png"
    shot = chromium.run("--hide-scrollbars", f"--window-size={size}", f"--screenshot={png}", svg_path.as_uri())
    assert png.exists(), shot.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == tuple(int(v) for v in size.split(","))
    # Decompress the pixels: a drawing has many distinct byte values, a blank page a handful.
    import zlib

    chunks, position = [], 8
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        if kind == b"IDAT":
            chunks.append(data[position + 8 : position + 8 + length])
        position += 12 + length
    pixels = zlib.decompress(b"".join(chunks))
    assert len(set(pixels)) > 50


def test_each_expansion_of_a_repeated_call_has_its_own_frame():
    text = (
        "block unit(c) { conv c k3 p1; bn; relu }\n"
        "block pair(c) { unit c; unit c }\n"
        "input 16x16x4\n"
        "repeat 4 { unit 8 }\n"
        "repeat 3 { pair 8 }\n"
    )
    program = cnndsl.check_program(text, "repeat.cnn")
    assert program.ok
    root = parse(render_svg(program, max_width=5000))
    frames = [e for e in root.iter() if e.get("class") == "block"]
    names = ["".join(f.find(f"{SVG}title").itertext()).split(":")[0] for f in frames]
    assert names.count("pair 8") == 3
    assert names.count("unit 8") == 4 + 3 * 2
