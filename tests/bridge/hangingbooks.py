"""A books address that accepts every connection and never answers, and records what it got.

What a books server whose every worker is busy looks like from outside (the cases side's
own gunicorn, serving the books too, with its one sync worker taken by the very request
that is waiting): a request to it waits until the client gives up. The tests point a
connection here to prove that a web request of the cases side never calls the books:
:attr:`HangingBooks.calls` must stay empty while the requests are served.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class HangingBooks:
    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._calls: list[str] = []
        self._held: list[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def books_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/books/api/v1"

    @property
    def calls(self) -> list[str]:
        """The request lines received so far ("GET /books/api/v1/auth/session HTTP/1.1")."""
        with self._lock:
            return list(self._calls)

    def __enter__(self) -> HangingBooks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(timeout=5)
        with self._lock:
            for held in self._held:
                with contextlib.suppress(OSError):
                    held.close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._held.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        """Read the request line, record it, and never answer."""
        data = b""
        with contextlib.suppress(OSError):
            while b"\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
        line = data.split(b"\r\n", 1)[0].decode("latin-1") or "(connection without a request)"
        with self._lock:
            self._calls.append(line)
