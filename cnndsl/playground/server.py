"""`cnnc serve`: the playground's local web server (the standard library's).

One page (`static/index.html` and its scripts, all inside the package) and a
few JSON endpoints that answer from the typed program (`workbench.py`):

| request | answer |
| --- | --- |
| `GET /` | the page |
| `GET /static/NAME` | its scripts, styles and the CodeMirror bundle |
| `GET /api/start` | the examples menu and FILE's text (read at each request, never written) |
| `GET /api/example?name=KEY` | an example's text |
| `POST /api/check` | diagnostics, line hints, layers (each keystroke) |
| `POST /api/summary` | the summary table (right after each check) |
| `POST /api/hover` | the hover at an offset |
| `POST /api/draw` | `cnnc draw`'s SVG |
| `POST /api/build` | `cnnc build`'s module text |
| `POST /api/verify` | `cnnc verify --device cpu`'s table (imports torch; one at a time) |

Safe by default: it binds 127.0.0.1 unless told otherwise; it answers only
requests whose Host header names the address it is bound to (a DNS
rebinding page cannot reach it under another name) and whose Origin, when
there is one, is that address too; a POST must be JSON (so a page elsewhere
cannot send one without a CORS preflight, which is never granted) and at
most `MAX_BODY` bytes. It writes no file.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from .workbench import Workbench, find_examples

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MAX_BODY = 2 * 1024 * 1024  # a request's body; a .cnn file of 100 lines is about 3 KB
MAX_FILE = 2 * 1024 * 1024  # FILE, read for the page
REQUEST_TIMEOUT = 30  # seconds a connection may take to send its request
STATIC = Path(__file__).resolve().parent / "static"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# The page runs only its own scripts and talks only to this server: no inline
# script, nothing from elsewhere. (Inline styles: CodeMirror writes its own.)
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    return host in ("", "0.0.0.0", "::", "[::]")


def host_header_allowed(header: str | None, bound: str, port: int) -> bool:
    """Whether a Host (or Origin's host:port) names the address the server is bound to.

    Bound to a loopback address, the loopback names are all that address
    (127.0.0.1, localhost, [::1]). Bound to every address (--host 0.0.0.0), any
    IP address is one of them, but no other name: DNS rebinding needs a name.
    """
    if not header:
        return False
    header = header.strip().lower()
    if header.startswith("["):  # [::1]:8765
        close = header.find("]")
        name, rest = header[: close + 1], header[close + 1 :]
        if close < 0 or (rest and not rest.startswith(":")):
            return False
        written_port = rest[1:]
    else:
        name, _, written_port = header.partition(":")
    if written_port and not (written_port.isdigit() and len(written_port) <= 5):
        return False
    if (int(written_port) if written_port else 80) != port or not name:
        return False
    if is_wildcard(bound):
        if name == "localhost":
            return True
        try:
            ipaddress.ip_address(name.strip("[]"))
            return True
        except ValueError:
            return False
    if is_loopback(bound):
        return name in LOOPBACK_NAMES or name == bound.lower()
    wanted = f"[{bound.strip('[]').lower()}]" if ":" in bound else bound.lower()
    return name == wanted


def load_assets() -> dict[str, tuple[bytes, str]]:
    """Every file of static/, by URL path, read once: no URL ever becomes a file path."""
    assets = {}
    for path in sorted(STATIC.rglob("*")):
        if path.is_file() and path.suffix in CONTENT_TYPES:
            assets["/static/" + path.relative_to(STATIC).as_posix()] = (path.read_bytes(), CONTENT_TYPES[path.suffix])
    assets["/"] = assets["/static/index.html"]
    return assets


class RequestError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class PlaygroundServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, file: Path | None = None) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host.strip("[]"), port), PlaygroundHandler)
        self.host = host
        self.port = self.server_address[1]
        self.file = file
        self.workbench = Workbench()
        self.examples = find_examples()
        self.assets = load_assets()
        self.verifying = threading.Lock()

    def handle_error(self, request, client_address) -> None:
        """A connection the browser dropped (a request it aborted, a closed tab) is no error."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionResetError, BrokenPipeError, TimeoutError)):
            return
        print(f"cnnc serve: {client_address[0]}: {type(error).__name__}: {error}", file=sys.stderr)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if is_wildcard(self.host) else self.host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"

    # -- the answers -----------------------------------------------------------
    def start(self) -> dict:
        """The examples menu, and FILE's text when one was given."""
        examples = [{"key": e.key, "label": e.label, "group": e.group, "filename": e.filename} for e in self.examples.values()]
        answer: dict = {"examples": examples, "default": "quiz" if "quiz" in self.examples else None, "file": None}
        if self.file is not None:
            answer["file"] = {"filename": self.file.name, **read_source(self.file)}
        return answer

    def example(self, key: str) -> dict:
        example = self.examples.get(key)
        if example is None:
            raise RequestError(HTTPStatus.NOT_FOUND, f"no example named '{key}'")
        return {"filename": example.filename, **read_source(example.path)}


def read_source(path: Path) -> dict:
    """A .cnn file for the editor: {"text": ...} or {"text": None, "error": why}."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE + 1)
    except OSError as error:
        return {"text": None, "error": f"cannot read '{path}': {error.strerror or error}"}
    if len(data) > MAX_FILE:
        return {"text": None, "error": f"'{path}' is larger than {MAX_FILE // 2**20} MB"}
    try:
        return {"text": data.decode("utf-8").removeprefix("\ufeff")}
    except UnicodeDecodeError as error:
        return {"text": None, "error": f"'{path}' is not UTF-8 (byte {error.start})"}


def _filename(value) -> str:
    """The name the page gives its text (diagnostics, the default network name): a plain .cnn file name."""
    if not isinstance(value, str):
        return "network.cnn"
    name = "".join(ch for ch in value.replace("\\", "/").rsplit("/", 1)[-1] if ch.isprintable())[:100]
    return name if name.endswith(".cnn") and len(name) > 4 else "network.cnn"


class PlaygroundHandler(BaseHTTPRequestHandler):
    server: PlaygroundServer
    protocol_version = "HTTP/1.1"
    server_version = "cnnc-serve"
    timeout = REQUEST_TIMEOUT
    # The headers and the body leave in two writes; with Nagle's algorithm the
    # body waits for the browser's delayed ACK of the headers (up to 40 ms,
    # measured: benchmarks/playground_latency.py).
    disable_nagle_algorithm = True

    # -- the gate -------------------------------------------------------------------
    def _admit(self) -> None:
        server = self.server
        if not host_header_allowed(self.headers.get("Host"), server.host, server.port):
            raise RequestError(HTTPStatus.MISDIRECTED_REQUEST, "this server answers only to the address it is bound to")
        origin = self.headers.get("Origin")
        if origin is not None:
            parts = urlsplit(origin)
            if parts.scheme != "http" or not host_header_allowed(parts.netloc, server.host, server.port):
                raise RequestError(HTTPStatus.FORBIDDEN, "requests from other sites are refused")

    def _body(self) -> dict:
        if self.headers.get("Transfer-Encoding"):
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length")
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length")
        if int(length) > MAX_BODY:
            raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"a request is at most {MAX_BODY // 2**20} MB")
        if self.headers.get_content_type() != "application/json":
            raise RequestError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send JSON (Content-Type: application/json)")
        try:
            body = json.loads(self.rfile.read(int(length)).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise RequestError(HTTPStatus.BAD_REQUEST, "the body is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("source"), str):
            raise RequestError(HTTPStatus.BAD_REQUEST, "send {\"source\": TEXT, \"filename\": NAME}")
        return body

    # -- the methods ------------------------------------------------------------------
    def do_GET(self) -> None:
        self._answer(self._get)

    def do_POST(self) -> None:
        self._answer(self._post)

    def _answer(self, route) -> None:
        try:
            self._admit()
            status, payload, content_type = route()
        except RequestError as error:
            if self.command == "POST" and error.status != HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
                self.close_connection = True  # an unread body must not be taken for the next request
            status, payload, content_type = error.status, _json({"error": str(error)}), "application/json"
        except Exception as error:  # a bug in cnnc: say so, keep serving
            print(f"cnnc serve: internal error: {type(error).__name__}: {error}", file=sys.stderr)
            status, payload, content_type = (
                HTTPStatus.INTERNAL_SERVER_ERROR,
                _json({"error": f"internal error in cnnc: {type(error).__name__}: {error}"}),
                "application/json",
            )
        if status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
            self.close_connection = True
        try:
            self._send(status, payload, content_type)
        except (BrokenPipeError, ConnectionResetError):  # the page dropped the request (it had a newer text)
            self.close_connection = True

    def _send(self, status: HTTPStatus, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.end_headers()
        self.wfile.write(payload)

    def _get(self) -> tuple[HTTPStatus, bytes, str]:
        parts = urlsplit(self.path)
        asset = self.server.assets.get(parts.path)
        if asset is not None:
            return HTTPStatus.OK, asset[0], asset[1]
        if parts.path == "/api/start":
            return HTTPStatus.OK, _json(self.server.start()), "application/json"
        if parts.path == "/api/example":
            key = parse_qs(parts.query).get("name", [""])[0]
            return HTTPStatus.OK, _json(self.server.example(key)), "application/json"
        raise RequestError(HTTPStatus.NOT_FOUND, f"nothing at {parts.path}")

    def _post(self) -> tuple[HTTPStatus, bytes, str]:
        path = urlsplit(self.path).path
        routes = {"/api/check", "/api/summary", "/api/hover", "/api/draw", "/api/build", "/api/verify"}
        if path not in routes:
            raise RequestError(HTTPStatus.NOT_FOUND, f"nothing at {path}")
        body = self._body()
        text, filename = body["source"], _filename(body.get("filename"))
        bench = self.server.workbench
        if path == "/api/check":
            document = body.get("document")
            answer = bench.check(text, filename, document[:64] if isinstance(document, str) else None)
        elif path == "/api/summary":
            answer = bench.summary(text, filename)
        elif path == "/api/hover":
            offset = body.get("offset")
            if not isinstance(offset, int) or isinstance(offset, bool):
                raise RequestError(HTTPStatus.BAD_REQUEST, "send the offset as a number")
            answer = bench.hover(text, filename, offset)
        elif path == "/api/draw":
            width = body.get("width", 1500)
            answer = bench.draw(text, filename, float(width) if isinstance(width, (int, float)) else 1500.0)
        elif path == "/api/build":
            answer = bench.build(text, filename)
        else:
            if not self.server.verifying.acquire(blocking=False):
                raise RequestError(HTTPStatus.CONFLICT, "a verification is running: wait for its table")
            try:
                answer = bench.verify(text, filename)
            finally:
                self.server.verifying.release()
        return HTTPStatus.OK, _json(answer), "application/json"

    def log_message(self, format: str, *args) -> None:
        """Quiet: a request is logged only when it is refused or fails."""

    def log_error(self, format: str, *args) -> None:
        sys.stderr.write(f"cnnc serve: {self.address_string()}: {format % args}\n")


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def serve(file: Path | None = None, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, open_browser: bool = False) -> int:
    """Run until interrupted; print the address first (a line a script can read)."""
    server = PlaygroundServer(host, port, file)
    if not is_loopback(host):
        print(
            f"cnnc serve: warning: listening on {host or 'every address'}, not only this machine: anyone who can reach "
            "it can use the playground, and its Verify button runs PyTorch here",
            file=sys.stderr,
        )
    print(f"cnnc serve: the playground is at {server.url} (Ctrl-C stops it)", flush=True)
    if open_browser:
        import webbrowser

        threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
