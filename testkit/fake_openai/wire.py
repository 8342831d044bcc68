"""HTTP on loopback: a threading server that can cut its idle keep-alive sockets, a handler that reads each
request and writes (or withholds) its reply, and a byte-exact multipart parser."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from testkit.fake_openai.replies import Reply


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], list[tuple[str, bytes]]]:
    """Split a multipart/form-data body into text fields and (field name, bytes) files, byte-exact."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise ValueError("multipart body without boundary")
    delimiter = b"--" + match.group(1).encode("latin-1")
    fields: dict[str, str] = {}
    files: list[tuple[str, bytes]] = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break  # closing delimiter
        chunk = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n")
        raw_headers, _, content = chunk.partition(b"\r\n\r\n")
        disposition = ""
        for line in raw_headers.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-disposition":
                disposition = value
        name_match = re.search(r'(?:^|;)\s*name="([^"]*)"', disposition)
        field_name = name_match.group(1) if name_match else ""
        if re.search(r"filename\*?=", disposition):
            files.append((field_name, content))
        else:
            fields[field_name] = content.decode("utf-8", "replace")
    return fields, files


class Fake(Protocol):
    """What the handler needs of the FakeOpenAI it serves (server.py)."""

    def _enter(self) -> None: ...

    def _leave(self) -> None: ...

    def _dispatch(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply: ...

    def _error(self, status: int, code: str | None = None, message: str | None = None) -> Reply: ...


class Server(ThreadingHTTPServer):
    """Tracks open connections so ``stop()`` can cut idle keep-alive sockets instead of waiting on them."""

    daemon_threads = True
    block_on_close = False
    fake: Fake

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        with self.sockets_lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    """Reads the request, hands it to the FakeOpenAI, and writes (or withholds) the reply."""

    protocol_version = "HTTP/1.1"  # the openai client reuses connections
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: tests and benchmarks make thousands of requests."""

    def do_POST(self) -> None:
        self._handle("POST")

    def do_GET(self) -> None:
        self._handle("GET")

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self, method: str) -> None:
        fake = self.server.fake
        fake._enter()
        try:
            body = self._read_body()
            reply = fake._dispatch(method, self.path.split("?", 1)[0], dict(self.headers.items()), body)
        except Exception as exc:  # a bug in the fake must show up as a loud 500, not a silent hang-up
            traceback.print_exc()
            reply = fake._error(500, "fake_server_bug", f"fake_openai crashed: {exc!r}")
            self.close_connection = True
        finally:
            fake._leave()
        if reply.drop:
            self.close_connection = True  # say nothing; the socket is closed after we return
            return
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):  # the client was killed mid-call (the worker tests do that)
            self.close_connection = True
