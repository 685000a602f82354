"""The admin channel: how a command reaches a running ``taxgate serve`` that holds the
embedded store (which one process opens at a time).

While it serves, the service listens on a Unix socket in a private folder (the store's
own folder, mode 0700, or a private temporary folder when that path is too long for a
socket) and names it in ``<store>/taxgate.admin.json`` (mode 0600). A command that finds
the store held by another process reads that file and sends its operation
(:mod:`taxgate.gateway.admin`) there: one line of JSON, authenticated by an HMAC under
a key derived from the store's at-rest key, which is exactly what the command would
need to open the store itself; a timestamp and a nonce stop a replay. The service runs
the operation on its own Gateway (waiting at most ``LOCK_WAIT_S`` for a running job,
else StoreBusy) and answers one line: the result, or the error's class and message,
which the command raises again, so the exit code is the same either way.

A PostgreSQL store is shared by every process: commands open it directly.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import socket
import socketserver
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from taxgate import errors
from taxgate.errors import BadInput, InternalError, StoreBusy, TaxgateError, Unauthorized
from taxgate.gateway import admin

if TYPE_CHECKING:
    from taxgate.gateway.core import Gateway
    from taxgate.settings import Settings

ENDPOINT_FILE = "taxgate.admin.json"
LOCK_WAIT_S = 10.0  # how long an operation waits for a job that holds the store
FRESH_S = 60.0  # a request older (or newer) than this is refused
MAX_LINE = 1 << 20
Hooks = dict[str, Callable[..., Any]]  # "credentials": forget(), "sessions": end_user(name)


def _key(settings: Settings) -> bytes:
    from taxgate.store.common import require_key

    return hmac.new(require_key(settings).encode("ascii"), b"taxgate admin channel v1",
                    hashlib.sha256).digest()


def _mac(key: bytes, body: dict[str, Any]) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def endpoint_file(settings: Settings) -> Path:
    return Path(settings.store).expanduser().resolve() / ENDPOINT_FILE


# --- the service's side -----------------------------------------------------------------------

class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    gateway: Gateway
    key: bytes
    hooks: Hooks
    seen: dict[str, float]
    seen_lock: threading.Lock


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        line = self.rfile.readline(MAX_LINE)
        try:
            answer = {"ok": True, "result": self._answer(line)}
        except Exception as exc:  # noqa: BLE001 - reported to the caller as its class
            kind = errors.classify(exc)
            answer = {"ok": False, "error": kind.__name__,
                      "message": str(exc) if kind.shown else ""}
        self.wfile.write(json.dumps(answer).encode("utf-8") + b"\n")

    def _answer(self, line: bytes) -> Any:
        try:
            req = json.loads(line)
            mac = req.pop("mac")
            name, args, ts, nonce = req["op"], req["args"], float(req["ts"]), str(req["nonce"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise BadInput("malformed admin request") from None
        if not hmac.compare_digest(_mac(self.server.key, req), str(mac)):
            raise Unauthorized("admin request not signed with this store's key")
        self._fresh(ts, nonce)
        gw = self.server.gateway
        with gw.lock(timeout=LOCK_WAIT_S):
            result = admin.run(gw, name, args)
        hook = self.server.hooks.get(admin.AFTER.get(name, ""))
        if hook is not None:
            hook(args.get("username")) if admin.AFTER[name] == "sessions" else hook()
        return result

    def _fresh(self, ts: float, nonce: str) -> None:
        now = time.time()
        if abs(now - ts) > FRESH_S:
            raise Unauthorized("admin request too old or from the future (check the clock)")
        with self.server.seen_lock:
            seen = self.server.seen
            for n in [n for n, t in seen.items() if t < now - 2 * FRESH_S]:
                del seen[n]
            if nonce in seen:
                raise Unauthorized("admin request replayed")
            seen[nonce] = now


@contextlib.contextmanager
def serving(gateway: Gateway, hooks: Hooks) -> Iterator[Path]:
    """Listen for admin requests while the block runs (embedded store only); yields the
    socket's path. The endpoint file and socket are removed at the end."""
    settings = gateway.settings
    folder = endpoint_file(settings).parent
    sock = folder / "taxgate.admin.sock"
    private: str | None = None
    if len(str(sock)) > 100:  # a Unix socket's path is limited to ~107 bytes
        private = tempfile.mkdtemp(prefix="taxgate-admin-")
        sock = Path(private) / "admin.sock"
    sock.unlink(missing_ok=True)
    old = os.umask(0o077)
    try:
        server = _Server(str(sock), _Handler)
    finally:
        os.umask(old)
    server.gateway, server.key, server.hooks = gateway, _key(settings), hooks
    server.seen, server.seen_lock = {}, threading.Lock()
    thread = threading.Thread(target=server.serve_forever, name="taxgate-admin", daemon=True)
    thread.start()
    info = endpoint_file(settings)
    fd = os.open(info, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"socket": str(sock), "pid": os.getpid()}, f)
    try:
        yield sock
    finally:
        server.shutdown()
        server.server_close()
        info.unlink(missing_ok=True)
        sock.unlink(missing_ok=True)
        if private:
            os.rmdir(private)


class AdminAlongside:
    """ASGI wrapper: the admin channel opens once the app has started (its store open)
    and closes as the app begins to stop, before the app closes its store."""

    def __init__(self, app: Any, open_channel: Callable[[], contextlib.AbstractContextManager[Any]]
                 ) -> None:
        self.app, self.open_channel = app, open_channel
        self._open: contextlib.AbstractContextManager[Any] | None = None

    def _close(self) -> None:
        if self._open is not None:
            self._open.__exit__(None, None, None)
            self._open = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def receive_() -> Any:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                self._close()
            return message

        async def send_(message: dict[str, Any]) -> None:
            if message["type"] == "lifespan.startup.complete":
                self._open = self.open_channel()
                self._open.__enter__()
            await send(message)

        try:
            await self.app(scope, receive_, send_)
        finally:
            self._close()


# --- the command's side -----------------------------------------------------------------------

def available(settings: Settings) -> bool:
    """Whether a running service on this (embedded) store names an admin channel."""
    return not settings.is_postgres and endpoint_file(settings).is_file()


def call(settings: Settings, name: str, args: dict[str, Any], timeout: float = 600) -> Any:
    """Run operation ``name`` in the service that holds the store; its errors are raised
    here as the same classes."""
    try:
        where = json.loads(endpoint_file(settings).read_text(encoding="utf-8"))["socket"]
    except (OSError, ValueError, KeyError, TypeError):
        raise StoreBusy("the store is held by another process and names no admin channel: "
                        "retry when it is done") from None
    body = {"op": name, "args": args, "ts": time.time(), "nonce": secrets.token_hex(16)}
    line = json.dumps({**body, "mac": _mac(_key(settings), body)}).encode("utf-8") + b"\n"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(None if name in ("load", "model.train") else timeout)  # these take time
            s.connect(where)
            s.sendall(line)
            reply = s.makefile("rb").readline(MAX_LINE * 16)
    except OSError:
        raise StoreBusy("the store is held by another process whose admin channel does not "
                        "answer: retry shortly, or stop that process") from None
    return _result(reply)


def _result(reply: bytes) -> Any:
    try:
        answer = json.loads(reply)
        if answer["ok"]:
            return answer["result"]
        kind = getattr(errors, str(answer["error"]), None)
    except (ValueError, KeyError, TypeError):
        raise InternalError("the admin channel gave no readable answer") from None
    if not (isinstance(kind, type) and issubclass(kind, TaxgateError)) or not kind.shown:
        raise InternalError("the service failed to run the operation")
    exc = kind.__new__(kind)
    TaxgateError.__init__(exc, answer.get("message", ""))
    raise exc
