"""The WSGI app served as ASGI (for uvicorn), with the lost-answer fault done the HTTP way."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ._errors import AnswerLost

__all__ = ["AsgiAdapter"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], list[bytes]]


class AsgiAdapter:
    """Runs the WSGI app in a worker thread per request (so parallel calls really overlap).

    When the app raises `AnswerLost`, nothing is sent: the request is held open until the
    client gives up and disconnects (a read timeout on its side), or `hold_seconds` pass.
    """

    def __init__(self, app: WsgiApp, hold_seconds: float = 60.0) -> None:
        self.app = app
        self.hold_seconds = hold_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        environ = _environ(scope, body)
        try:
            status, headers, data = await asyncio.to_thread(_call, self.app, environ)
        except AnswerLost:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_until_disconnect(receive), self.hold_seconds)
            return
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            }
        )
        await send({"type": "http.response.body", "body": data})


async def _until_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


def _environ(scope: Scope, body: bytes) -> dict[str, Any]:
    server = scope.get("server") or ("127.0.0.1", 80)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "PATH_INFO": scope["path"],
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": scope.get("scheme", "http"),
    }
    for raw_key, raw_value in scope.get("headers", []):
        key = raw_key.decode("latin-1").upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = raw_value.decode("latin-1")
        else:
            environ[f"HTTP_{key}"] = raw_value.decode("latin-1")
    environ["CONTENT_LENGTH"] = str(len(body))
    return environ


def _call(app: WsgiApp, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"] = int(status.split()[0])
        captured["headers"] = headers
        return lambda _data: None

    data = b"".join(app(environ, start_response))
    return captured["status"], captured["headers"], data
