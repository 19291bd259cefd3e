"""The VS Code extension's TextMate grammar (editors/vscode/syntaxes/cnn.tmLanguage.json).

The first tests read the grammar as JSON and compare its word lists with the
layer table. The others tokenize every example with VS Code's real engine
(vscode-textmate + vscode-oniguruma from npm, versions pinned in
editors/vscode/test/package.json, installed by this test into a cache
folder); they skip when Node or npm is absent or the install fails (the
reason is in the skip message).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from cnndsl.check.declarations import STRUCTURE_WORDS
from cnndsl.layers import ACTIVATIONS, LAYERS
from cnndsl.reports import docs

ROOT = Path(__file__).resolve().parent.parent
EXTENSION = ROOT / "editors" / "vscode"
GRAMMAR = EXTENSION / "syntaxes" / "cnn.tmLanguage.json"
EXAMPLES = sorted((ROOT / "examples").glob("*.cnn"))


def _alternatives(pattern: str) -> set[str]:
    inner = re.search(r"\\b\(([^)]*)\)", pattern).group(1)
    return set(inner.split("|"))


def test_grammar_knows_every_layer_option_and_flag():
    grammar = json.loads(GRAMMAR.read_text())
    repository = grammar["repository"]
    layers = {name for kind in LAYERS if not kind.is_activation for name in kind.names}
    assert _alternatives(repository["layers"]["match"]) == layers
    assert _alternatives(repository["activations"]["match"]) == set(ACTIVATIONS)
    flags = {flag for kind in LAYERS for flag in kind.flags}
    assert _alternatives(repository["flags"]["match"]) == flags
    shorts = {option.short for kind in LAYERS for option in kind.options if option.short}
    longs = {option.name for kind in LAYERS for option in kind.options}
    short_pattern, long_pattern = (p["match"] for p in repository["options"]["patterns"])
    assert set(re.search(r"\[(\w+)\]", short_pattern).group(1)) == shorts
    assert _alternatives(long_pattern) == longs


def test_grammar_word_lists_are_generated_from_the_layer_table():
    """`python -m cnndsl.reports.docs` writes the lists; a kind added to the table and not regenerated fails here."""
    text = GRAMMAR.read_text(encoding="utf-8")
    assert text == docs.vscode_grammar(text), "the VS Code grammar is stale: run `python -m cnndsl.reports.docs`"
    call = json.loads(text)["repository"]["block-call"]["match"]
    every = {name for kind in LAYERS for name in kind.names} | set(STRUCTURE_WORDS)
    assert set(re.search(r"\(\?!\(\?:([^)]*)\)", call).group(1).split("|")) == every


def test_extension_manifest_wires_language_grammar_and_client():
    manifest = json.loads((EXTENSION / "package.json").read_text())
    contributes = manifest["contributes"]
    assert contributes["languages"][0]["extensions"] == [".cnn"]
    grammar = contributes["grammars"][0]
    assert grammar["scopeName"] == "source.cnn" and (EXTENSION / grammar["path"]).is_file()
    assert (EXTENSION / contributes["languages"][0]["configuration"]).is_file()
    assert (EXTENSION / manifest["main"]).is_file() and "vscode-languageclient" in manifest["dependencies"]
    client = (EXTENSION / manifest["main"]).read_text()
    assert '"server.command", "cnnc"' in client and '["lsp"]' in client
    json.loads((EXTENSION / "language-configuration.json").read_text())


# -- the real engine ---------------------------------------------------------


@pytest.fixture(scope="module")
def textmate() -> Path:
    """node_modules with vscode-textmate and vscode-oniguruma, installed once per version pin."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("Node.js and npm are needed to run VS Code's TextMate engine")
    manifest = (EXTENSION / "test" / "package.json").read_bytes()
    digest = hashlib.sha256(manifest).hexdigest()[:12]
    cache = Path(os.environ.get("CNNDSL_TEXTMATE_CACHE") or Path(tempfile.gettempdir()) / f"cnndsl-textmate-{digest}")
    modules = cache / "node_modules"
    if not (modules / "vscode-textmate").is_dir() or not (modules / "vscode-oniguruma").is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        (cache / "package.json").write_bytes(manifest)
        result = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--no-package-lock", "--silent"],
            cwd=cache,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            # A registry hiccup must not block a submission: skip, and say why.
            pytest.skip(f"npm install of the TextMate engine failed:\n{result.stderr[-2000:]}")
    return modules


def tokenize(modules: Path, *files: Path) -> dict[str, list[list[dict]]]:
    result = subprocess.run(
        [shutil.which("node"), str(EXTENSION / "test" / "tokenize.js"), str(GRAMMAR), *map(str, files)],
        capture_output=True,
        text=True,
        env={**os.environ, "NODE_PATH": str(modules)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def scope(token: dict) -> str:
    return token["scopes"][-1]


def test_every_example_is_fully_classified(textmate):
    tokens = tokenize(textmate, *EXAMPLES)
    layer_names = {name for kind in LAYERS for name in kind.names}
    for path in EXAMPLES:
        lines = tokens[str(path)]
        source = path.read_text().splitlines()
        for number, line in enumerate(lines[: len(source)]):
            for token in line:
                text = token["text"]
                if not text.strip():
                    continue
                where = f"{path.name}:{number + 1} {text!r} {token['scopes']}"
                assert scope(token) != "source.cnn", f"unclassified {where}"
                assert "invalid" not in scope(token), where
                if "#" in source[number] and source[number].index("#") <= source[number].find(text):
                    assert "comment" in scope(token), where
                elif text in layer_names:
                    assert scope(token).startswith("support.function."), where
                elif re.fullmatch(r"\d+(x\d+)+", text):
                    assert scope(token) == "constant.numeric.size.cnn", where


def test_names_calls_options_and_errors(textmate, tmp_path):
    sample = tmp_path / "sample.cnn"
    sample.write_text(
        "block down(c, s) {\n"
        "  conv c k3 stride=s p1 nobias; bn; relu\n"
        "}\n"
        "network Sample   # a comment with conv 3 k3\n"
        "input 32x32x3\n"
        "down 64 2; maxpool 3 s2x1 ceil\n"
        "avgpool to 1; flatten; dropout 0.5; fc 10 softmax\n"
        "conv 4 @ k3\n"
    )
    lines = tokenize(textmate, sample)[str(sample)]

    def scopes(number: int) -> dict[str, str]:
        return {t["text"].strip(): scope(t) for t in lines[number] if t["text"].strip()}

    first = scopes(0)
    assert first["block"] == "keyword.control.block.cnn"
    assert first["down"] == "entity.name.function.block.cnn"
    assert first["c"] == first["s"] == "variable.parameter.cnn"
    body = scopes(1)
    assert body["conv"] == "support.function.layer.cnn" and body["relu"] == "support.function.activation.cnn"
    assert body["k"] == body["p"] == body["stride"] == "keyword.other.option.cnn"
    assert body["nobias"] == "storage.modifier.flag.cnn" and body[";"] == "punctuation.terminator.statement.cnn"
    header = scopes(3)
    assert header["Sample"] == "entity.name.type.class.cnn"
    assert all("comment" in scope(t) for t in lines[3] if "conv 3" in t["text"])
    call = scopes(5)
    assert call["down"] == "entity.name.function.call.cnn" and call["maxpool"] == "support.function.layer.cnn"
    assert call["s"] == "keyword.other.option.cnn" and call["2x1"] == "constant.numeric.cnn"
    assert call["ceil"] == "storage.modifier.flag.cnn"
    vector = scopes(6)
    assert vector["to"] == "keyword.other.to.cnn" and vector["0.5"] == "constant.numeric.cnn"
    assert vector["fc"] == "support.function.layer.cnn" and vector["softmax"] == "support.function.activation.cnn"
    assert scopes(7)["@"] == "invalid.illegal.character.cnn"


def test_symbolic_inputs_and_where_clauses(textmate, tmp_path):
    sample = tmp_path / "symbolic.cnn"
    sample.write_text(
        "input HxWx3 where H >= 32, W >= 32\n"
        "input 224xWx3 where W >= 8\n"
        "input Hx224x1\n"
        "input 32x32x3\n"
    )
    lines = tokenize(textmate, sample)[str(sample)]

    def scopes(number: int) -> list[tuple[str, str]]:
        return [(t["text"].strip(), scope(t)) for t in lines[number] if t["text"].strip()]

    assert scopes(0) == [
        ("input", "keyword.other.input.cnn"),
        ("HxWx3", "constant.numeric.size.symbolic.cnn"),
        ("where", "keyword.other.where.cnn"),
        ("H", "variable.other.cnn"),
        (">=", "keyword.operator.comparison.cnn"),
        ("32", "constant.numeric.cnn"),
        (",", "punctuation.separator.cnn"),
        ("W", "variable.other.cnn"),
        (">=", "keyword.operator.comparison.cnn"),
        ("32", "constant.numeric.cnn"),
    ]
    # Mixed sizes are one token, and a plain size is still a plain size.
    assert scopes(1)[1] == ("224xWx3", "constant.numeric.size.symbolic.cnn")
    assert scopes(2)[1] == ("Hx224x1", "constant.numeric.size.symbolic.cnn")
    assert scopes(3)[1] == ("32x32x3", "constant.numeric.size.cnn")


def test_numbers_in_scientific_notation_are_one_number(textmate, tmp_path):
    sample = tmp_path / "scientific.cnn"
    sample.write_text("input 8x8x3\nbn eps=1e-6 momentum=1E-2\ndropout 2.5e-1\n")
    lines = tokenize(textmate, sample)[str(sample)]
    words = [(t["text"].strip(), scope(t)) for line in lines[1:3] for t in line if t["text"].strip()]
    assert ("1e-6", "constant.numeric.cnn") in words
    assert ("1E-2", "constant.numeric.cnn") in words
    assert ("2.5e-1", "constant.numeric.cnn") in words
