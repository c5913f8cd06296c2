"""The sandbox over real HTTP in the test process (uvicorn in a thread), and forked workers."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn

from linkseq.sandbox import AnswerLost
from linkseq.sandbox._asgi import AsgiAdapter

__all__ = ["OUTREACH_SLUGS", "Killer", "Served", "SharedTime", "Tap", "Zygote", "serve"]

ROOT = Path(__file__).resolve().parents[2]


class Served:
    """An ASGI app whose target can be swapped between runs (one server for many worlds)."""

    def __init__(self) -> None:
        self.target: Any = None
        self.port = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await self.target(scope, receive, send)

    def mount(self, wsgi: Any) -> None:
        """Serve this WSGI app (a sandbox's, maybe wrapped) from now on."""
        self.target = AsgiAdapter(wsgi, hold_seconds=5.0)

    @property
    def base_url(self) -> str:
        """The Edges base URL of whatever is mounted."""
        return f"http://127.0.0.1:{self.port}/v1"


@contextmanager
def serve() -> Iterator[Served]:
    """Run a `Served` under uvicorn on 127.0.0.1:<free port> in a thread."""
    app = Served()
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:  # startup handshake, not a timing assumption
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        threading.Event().wait(0.01)
    sockets = [s for srv in server.servers for s in srv.sockets]
    app.port = sockets[0].getsockname()[1]
    try:
        yield app
    finally:
        server.should_exit = True
        thread.join(timeout=10)


OUTREACH_SLUGS = frozenset(
    {
        "linkedin-visit-profile",
        "linkedin-connect-profile",
        "linkedin-message-profile",
        "linkedin-inmail-profile",
    }
)


class Tap:
    """A WSGI layer that calls `hook(slug, body)` on each live call, before the sandbox acts."""

    def __init__(self, app: Any, hook: Callable[[str, dict[str, Any]], None]) -> None:
        self.app = app
        self.hook = hook

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith("/v1/actions/") and path.endswith("/run/live"):
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            slug = path[len("/v1/actions/") : -len("/run/live")]
            self.hook(slug, json.loads(body) if body.strip() else {})
        return self.app(environ, start_response)


class SharedTime:
    """A WSGI layer that lets the sandbox's virtual time pass only when every worker waits for it.

    Several worker processes share one virtual clock. If an idle worker could move it at once,
    time would jump under a worker in the middle of a pass (its lease would expire while it
    works, which real time never does that fast). Here a clock move (`POST /_sandbox/clock`)
    waits until all `workers` still running are waiting on the clock; then time moves to the
    earliest target asked and the workers whose target has come go on (a conservative
    discrete-event barrier). `retire()` is called when a worker process ends.
    """

    def __init__(self, sandbox: Any, app: Any, *, workers: int) -> None:
        self.sandbox = sandbox
        self.app = app
        self.live = workers
        self.waiting: dict[int, datetime] = {}
        self.moves = 0
        self._ids = iter(range(1 << 62))
        self._cond = threading.Condition()

    def retire(self) -> None:
        """One worker process ended: it will not ask for time again."""
        with self._cond:
            self.live -= 1
            self._maybe_move()
            self._cond.notify_all()

    def _maybe_move(self) -> None:
        if self.waiting and len(self.waiting) >= self.live:
            target = min(self.waiting.values())
            if target > self.sandbox.clock.now():
                self.sandbox.advance(to=target)
                self.moves += 1
                self._cond.notify_all()  # wake the waiter(s) whose time has come

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = str(environ.get("PATH_INFO", "")).rstrip("/")
        if path != "/_sandbox/clock" or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        data = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        with self._cond:
            now = self.sandbox.clock.now()
            if "advance_seconds" in data:
                target = now + timedelta(seconds=float(data["advance_seconds"]))
            else:
                target = datetime.fromisoformat(str(data["to"]).replace("Z", "+00:00"))
            key = next(self._ids)
            self.waiting[key] = max(target, now)
            while self.sandbox.clock.now() < self.waiting[key]:
                self._maybe_move()
                if self.sandbox.clock.now() >= self.waiting[key]:
                    break
                self._cond.wait()
            del self.waiting[key]
            self._cond.notify_all()
        get = {
            **environ,
            "REQUEST_METHOD": "GET",
            "CONTENT_LENGTH": "0",
            "wsgi.input": io.BytesIO(),
        }
        return self.app(get, start_response)


class Killer:
    """A WSGI layer that SIGKILLs the worker at its Nth live call, before or after LinkedIn acts."""

    def __init__(self, app: Any, *, at_call: int, after: bool) -> None:
        self.app = app
        self.at_call = at_call
        self.after = after
        self.calls = 0
        self.killed = False
        self.pid: int | None = None
        self._pid_known = threading.Event()
        self._lock = threading.Lock()

    def set_pid(self, pid: int) -> None:
        """The worker to kill."""
        self.pid = pid
        self._pid_known.set()

    def disarm(self) -> None:
        """No more killing (the restarted worker)."""
        self.at_call = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = str(environ.get("PATH_INFO", ""))
        live = path.startswith("/v1/actions/") and path.endswith("/run/live")
        with self._lock:
            if live:
                self.calls += 1
            hit = live and self.calls == self.at_call and not self.killed
        if not hit:
            return self.app(environ, start_response)
        self._pid_known.wait(30)
        if self.after:  # LinkedIn acts, the worker dies before it hears the answer
            self.app(environ, lambda *a, **k: lambda _d: None)
        assert self.pid is not None
        os.kill(self.pid, 9)
        self.killed = True
        raise AnswerLost("the worker was killed")


class Zygote:
    """The forking helper process (tests/engine/zygote.py)."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.engine.zygote"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return answer

    def spawn(self, args: list[str], env: dict[str, str]) -> int:
        """Fork a child running `linkseq <args>`; its pid."""
        return int(self._ask({"spawn": args, "env": env})["pid"])

    def wait(self, pid: int) -> int:
        """Wait for a child; its exit code, or -signal."""
        return int(self._ask({"wait": pid})["status"])

    def close(self) -> None:
        """Stop the zygote."""
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()
