"""The playground's page ships whole inside the package and loads nothing from
elsewhere; its CodeMirror bundle is the one playground/build.mjs makes from
the pinned packages (no Node needed to check it)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "cnndsl" / "playground" / "static"
BUILD = ROOT / "playground"
BUNDLE = STATIC / "vendor" / "codemirror.js"


def test_the_bundle_is_built_from_the_committed_inputs():
    """build.mjs writes the SHA-256 of its inputs into the bundle's first line:
    editing entry.js, build.mjs or the lock file without `npm ci && npm run
    build` fails here."""
    digest = hashlib.sha256()
    for name in ("build.mjs", "entry.js", "package-lock.json"):
        digest.update(name.encode() + b"\0")
        digest.update((BUILD / name).read_bytes())
        digest.update(b"\0")
    first = BUNDLE.read_text(encoding="utf-8").split("\n", 1)[0]
    assert first == f"// cnndsl playground vendor bundle; inputs sha256 {digest.hexdigest()}"


def test_the_bundle_names_its_pinned_versions_and_keeps_their_licences():
    lock = json.loads((BUILD / "package-lock.json").read_text())
    package = json.loads((BUILD / "package.json").read_text())
    text = BUNDLE.read_text(encoding="utf-8")
    second = text.split("\n", 2)[1]
    built_from = dict(item.rsplit("@", 1) for item in second.split("from: ", 1)[1].split())
    for name, version in package["devDependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} is not pinned to one version"
        if name != "esbuild":
            assert built_from[name] == version == lock["packages"][f"node_modules/{name}"]["version"]
    for name in built_from:
        assert f"\n{name}:\n" in text and "Permission is hereby granted" in text  # MIT notices at the end


def test_the_page_loads_only_its_own_files():
    """Every script, style and icon the page names is one of the package's static files."""
    page = (STATIC / "index.html").read_text()
    named = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert named and all(ref.startswith("/static/") and (STATIC / ref.removeprefix("/static/")).is_file() for ref in named)
    for script in ("app.js", "editor.js", "share.js"):
        text = (STATIC / script).read_text()
        imports = re.findall(r'from "([^"]+)"', text)
        assert all(ref.startswith("./") and (STATIC / ref).is_file() for ref in imports), script
        assert "import(" not in text, script
    for path in STATIC.rglob("*"):
        if path.suffix in (".html", ".js", ".css"):
            text = path.read_text(encoding="utf-8")
            # No address of another host to fetch from (SVG's namespace is a name, not a fetch).
            addresses = set(re.findall(r"https?://[^\s\"'`)<>]+", text)) - {"http://www.w3.org/2000/svg"}
            if path != BUNDLE:
                assert not addresses, (path.name, addresses)
            assert "@import" not in text and "url(http" not in text, path.name
