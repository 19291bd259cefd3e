"""Latency of `cnnc lsp`: from didChange to publishDiagnostics on a 500-line file.

Starts the real server (`python -m cnndsl lsp`) as a subprocess, speaks
JSON-RPC over its stdin/stdout directly (no client library in the timing
path), opens a 500-line program, then sends EDITS changes, one at a time,
each a one-line code edit in the middle of the file (full-document sync, as
the server asks). The clock runs from writing the didChange to reading the
publishDiagnostics for that document version. Also reports the in-process
cost of one analysis as the server does it after an edit (the document's
parse cache re-parses the changed statement; check; index), the floor of the
latency, split into parse and check, and of one analysis from scratch (no
cache: a file just opened). The machine's load average is reported with
them: on a shared machine the numbers move with it.

    python benchmarks/lsp_latency.py [--edits 50] [--lines 500] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HEADER = """\
# A 500-line network for the latency benchmark: blocks, residuals,
# comments, blank lines and many layer lines, like a hand-written file.
block basic(c) {
  residual {
    conv c k3 p1 nobias; bn; relu
    conv c k3 p1 nobias; bn
  }
  relu
}

block vgg(c, n) {          # n 3x3 convolutions, then halve the size
  repeat n {
    conv c k3 p1 relu
  }
  pool 2
}

network Big
input 64x64x3
conv 16 k3 p1 relu         # -> 64x64x16
"""

BODY = [
    "conv 16 k3 p1              # keeps 64x64x16",
    "bn",
    "relu",
    "basic 16                   # a residual block",
    "",
    "# a comment line between layers",
    "conv 16 k3 p1; bn; relu",
    "dropout 0.1",
]

FOOTER = """\
vgg 32 2                   # -> 32x32x32
avgpool to 1
flatten
linear 10
"""


def program(lines: int) -> str:
    head = HEADER.splitlines()
    tail = FOOTER.splitlines()
    body = [BODY[i % len(BODY)] for i in range(max(0, lines - len(head) - len(tail)))]
    return "\n".join(head + body + tail) + "\n"


class Server:
    """The server in a subprocess; a reader thread timestamps every message."""

    def __init__(self) -> None:
        env = dict(os.environ)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cnndsl", "lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.messages: list[tuple[float, dict]] = []
        self.condition = threading.Condition()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stdout
        while True:
            length = 0
            while True:
                line = stream.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = stream.read(length)
            now = time.perf_counter()
            with self.condition:
                self.messages.append((now, json.loads(body)))
                self.condition.notify_all()

    def send(self, message: dict) -> float:
        data = json.dumps(message).encode()
        start = time.perf_counter()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(data) + data)
        self.process.stdin.flush()
        return start

    def request(self, method: str, params) -> dict:
        self.next_id += 1
        ident = self.next_id
        self.send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        return self.wait(lambda m: m.get("id") == ident)[1]

    def notify(self, method: str, params) -> float:
        return self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def wait(self, match, timeout: float = 30.0) -> tuple[float, dict]:
        deadline = time.perf_counter() + timeout
        with self.condition:
            while True:
                for index, (when, message) in enumerate(self.messages):
                    if match(message):
                        del self.messages[index]
                        return when, message
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise TimeoutError("the server did not answer")
                self.condition.wait(left)

    def close(self) -> None:
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            self.process.wait(timeout=10)
        finally:
            if self.process.poll() is None:
                self.process.kill()


def diagnostics_for(version: int):
    def match(message: dict) -> bool:
        return (
            message.get("method") == "textDocument/publishDiagnostics"
            and message["params"].get("version") == version
        )

    return match


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def edited(lines_list: list[str], middle: int, edit: int) -> str:
    """The program after edit number `edit`: one line changed, its length too."""
    changed = list(lines_list)
    # Alternate a kernel and its padding: code changes, the types stay valid.
    changed[middle] = "conv 16 k5 p2" if edit % 2 else f"conv 16 k3 p1  # edit {edit}"
    return "\n".join(changed) + "\n"


def middle_line(lines_list: list[str]) -> int:
    middle = len(lines_list) // 2
    while not lines_list[middle].startswith("conv 16 k3 p1 "):
        middle += 1
    return middle


def in_process(text: str, edits: int) -> dict:
    """The server's work per change, in this process: wall and CPU milliseconds."""
    from cnndsl.diagnostics.model import Reporter
    from cnndsl.lsp.analysis import Analysis
    from cnndsl.syntax.source import SourceText
    from cnndsl.syntax.incremental import ParseCache
    from cnndsl.syntax.parser import parse

    lines_list = text.splitlines()
    middle = middle_line(lines_list)
    texts = [edited(lines_list, middle, edit) for edit in range(edits)]

    def timed(run, inputs) -> tuple[list[float], list[float]]:
        wall, cpu = [], []
        for item in inputs:
            start, start_cpu = time.perf_counter(), time.process_time()
            run(item)
            cpu.append((time.process_time() - start_cpu) * 1000)
            wall.append((time.perf_counter() - start) * 1000)
        return wall, cpu

    cache = ParseCache()
    Analysis(text, "big.cnn", parse_cache=cache)
    edit_wall, edit_cpu = timed(lambda t: Analysis(t, "big.cnn", parse_cache=cache).diagnostics("file:///big.cnn"), texts)
    cache = ParseCache()
    cache.parse(Reporter(SourceText(text)))
    parse_wall, _ = timed(lambda t: cache.parse(Reporter(SourceText(t))), texts)
    full_wall, _ = timed(lambda t: Analysis(t, "big.cnn"), texts[:20])
    full_parse_wall, _ = timed(lambda t: parse(Reporter(SourceText(t))), texts[:20])
    return {
        "analysis_median_ms": round(statistics.median(edit_wall), 1),
        "analysis_p95_ms": round(percentile(edit_wall, 0.95), 1),
        "analysis_min_ms": round(min(edit_wall), 1),
        "analysis_cpu_median_ms": round(statistics.median(edit_cpu), 1),
        "cached_parse_median_ms": round(statistics.median(parse_wall), 1),
        "full_analysis_median_ms": round(statistics.median(full_wall), 1),
        "full_analysis_min_ms": round(min(full_wall), 1),
        "full_parse_median_ms": round(statistics.median(full_parse_wall), 1),
    }


def measure(edits: int, lines: int) -> dict:
    text = program(lines)
    assert len(text.splitlines()) == lines
    uri = Path("/tmp/lsp_latency_big.cnn").resolve().as_uri()
    load_before = os.getloadavg()[0]
    server = Server()
    try:
        server.request("initialize", {"processId": os.getpid(), "rootUri": None, "capabilities": {}})
        server.notify("initialized", {})
        server.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "cnn", "version": 1, "text": text}},
        )
        _, opened = server.wait(diagnostics_for(1))
        assert opened["params"]["diagnostics"] == [], opened["params"]["diagnostics"][:1]
        lines_list = text.splitlines()
        middle = middle_line(lines_list)
        timings = []
        version = 1
        warmup = 5
        for edit in range(warmup + edits):
            version += 1
            new_text = edited(lines_list, middle, edit)
            start = server.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [{"text": new_text}],
                },
            )
            arrived, _ = server.wait(diagnostics_for(version))
            if edit >= warmup:
                timings.append((arrived - start) * 1000)
    finally:
        server.close()

    return {
        "lines": lines,
        "edits": edits,
        "median_ms": round(statistics.median(timings), 1),
        "p95_ms": round(percentile(timings, 0.95), 1),
        "min_ms": round(min(timings), 1),
        "max_ms": round(max(timings), 1),
        **in_process(text, edits),
        "load_average": round(max(load_before, os.getloadavg()[0]), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--lines", type=int, default=500)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.edits, args.lines)
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"didChange -> publishDiagnostics, {result['lines']}-line file, {result['edits']} edits: "
            f"median {result['median_ms']} ms, p95 {result['p95_ms']} ms "
            f"(min {result['min_ms']}, max {result['max_ms']})\n"
            f"one analysis after an edit, in process: median {result['analysis_median_ms']} ms, "
            f"p95 {result['analysis_p95_ms']} ms, min {result['analysis_min_ms']} ms "
            f"(CPU median {result['analysis_cpu_median_ms']} ms; of it the cached parse {result['cached_parse_median_ms']} ms)\n"
            f"one analysis from scratch: median {result['full_analysis_median_ms']} ms, min {result['full_analysis_min_ms']} ms "
            f"(of it the full parse {result['full_parse_median_ms']} ms)\n"
            f"load average: {result['load_average']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
