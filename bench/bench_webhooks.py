"""Callbacks received and applied per second by one `linkseq serve` process on SQLite.

The server is the real CLI (`linkseq serve`, uvicorn) in its own process; this process sends
run callbacks over real HTTP from a few keep-alive connections in threads. Each callback is a
distinct conversations row for a tracked identity: stored in the inbox, deduplicated, applied.
At the end every callback must be marked applied in the inbox and its thread cached in
`conversations` (else the benchmark fails): the figure is callbacks received AND applied.
Measured with 8 connections (the headline figure) and 32; the server's CPU time per callback
(from /proc) is reported too, since the machine is shared and wall-clock rates vary with load.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from linkseq.store import build_engine, session_factory, upgrade
from linkseq.store.models import Conversation, Identity, WebhookInbox
from linkseq.web.serving import uvicorn_options

SECRET = "bench-secret"
TOTAL = 4000
THREADS = 8  # the headline figure's keep-alive connections
# more connections in flight let the server's writer take bigger batches (group commit)
CONNECTIONS = (THREADS, 32)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _body(i: int) -> bytes:
    return json.dumps(
        {
            "callback_ref_uid": f"cb_{i}",
            "run": {"run_uid": f"run-{i // 100}", "status": "RUNNING"},
            "action_name": "linkedin-extract-conversations",
            "custom_data": {"purpose": "conversations", "identity_id": 1},
            "input": {},
            "results": [
                {
                    "linkedin_thread_id": f"t{i}",
                    "linkedin_thread_url": f"https://www.linkedin.com/messaging/thread/t{i}/",
                    "participants": [
                        {"linkedin_profile_id": 900000001},
                        {
                            "linkedin_profile_id": 500000 + i,
                            "linkedin_profile_url": f"https://www.linkedin.com/in/p{i}",
                        },
                    ],
                    "last_message": {
                        "linkedin_profile_id": 900000001,
                        "content": "hello",
                        "delivered_at": "2026-01-05T08:00:00Z",
                    },
                }
            ],
            "error": None,
        }
    ).encode()


def _send(
    port: int, bodies: list[bytes], failures: list[int], token: str = SECRET, ok: int = 200
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json", "X-Linkseq-Token": token}
    for body in bodies:
        conn.request("POST", "/webhooks/edges/callbacks", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != ok:
            failures.append(response.status)
    conn.close()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run(
    port: int, pid: int, chunks: list[list[bytes]], failures: list[int], token: str, ok: int
) -> tuple[float, float, float]:
    """Send every chunk from its own thread; (seconds, server CPU seconds, client CPU seconds)."""
    threads = [threading.Thread(target=_send, args=(port, c, failures, token, ok)) for c in chunks]
    cpu0, client0 = _cpu_seconds(pid), time.process_time()
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return elapsed, _cpu_seconds(pid) - cpu0, time.process_time() - client0


def main() -> None:
    figures: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = build_engine(url)
        upgrade(engine)
        now = datetime(2026, 1, 5, tzinfo=UTC)
        with session_factory(engine)() as session:
            session.add(
                Identity(
                    uid="bench",
                    name="bench",
                    linkedin_profile_id="900000001",
                    created_at=now,
                    updated_at=now,
                )
            )
            session.commit()
        port = _free_port()
        env = {
            **os.environ,
            "LINKSEQ_WEBHOOK_SECRET": SECRET,
            "LINKSEQ_DATABASE_URL": url,
            "LINKSEQ_LOG_LEVEL": "WARNING",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "linkseq", "serve", "--port", str(port), "--deliver-every", "0"],
            env=env,
            stdout=subprocess.DEVNULL,
            cwd=tmp,
        )
        sent = 0
        try:
            for _ in range(200):  # wait for the server to listen
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.05)
            _send(port, [_body(-i - 1) for i in range(50)], [])  # warm-up
            for connections in CONNECTIONS:
                bodies = [_body(sent + i) for i in range(TOTAL)]
                sent += TOTAL
                failures: list[int] = []
                chunks = [bodies[i::connections] for i in range(connections)]
                elapsed, server_cpu, client_cpu = _run(
                    port, server.pid, chunks, failures, SECRET, 200
                )
                suffix = "" if connections == THREADS else f".{connections}_connections"
                figures.append(
                    {
                        "name": "webhooks.callbacks_per_second" + suffix,
                        "value": round(TOTAL / elapsed, 1),
                        "unit": "callbacks/s",
                        "cores": os.cpu_count(),
                        "callbacks": TOTAL,
                        "failures": len(failures),
                        "connections": connections,
                        "database": "sqlite",
                        # the machine is shared: CPU per callback is the steadier figure
                        "server_cpu_ms_per_callback": round(1000 * server_cpu / TOTAL, 3),
                        "client_cpu_ms_per_callback": round(1000 * client_cpu / TOTAL, 3),
                        "load_average": os.getloadavg()[0],
                    }
                )
            # the same requests refused at the token check: the HTTP stack alone, no database
            failures = []
            chunks = [bodies[i::THREADS] for i in range(THREADS)]
            ceiling, refused_cpu, _ = _run(port, server.pid, chunks, failures, "x", 401)
        finally:
            server.terminate()
            server.wait(timeout=10)
        with session_factory(engine)() as session:
            applied = session.scalar(
                sa.select(sa.func.count())
                .select_from(WebhookInbox)
                .where(WebhookInbox.processed_at.is_not(None))
            )
            threads = set(session.scalars(sa.select(Conversation.thread_id)))
        engine.dispose()
    # received AND applied: every callback's inbox row is marked, and its thread is cached
    missing = {f"t{i}" for i in range(-50, sent)} - threads
    if applied != sent + 50 or missing:
        raise SystemExit(
            f"not all applied: {applied} of {sent + 50}, {len(missing)} threads missing"
        )
    figures[0]["applied_all_phases"] = applied - 50
    figures[0]["threads_cached"] = len(threads)
    figures[0]["http"] = uvicorn_options()["http"]
    figures.append(
        {
            "name": "webhooks.refused_per_second",
            "value": round(TOTAL / ceiling, 1),
            "unit": "requests/s",
            "cores": os.cpu_count(),
            "failures": len(failures),
            "server_cpu_ms_per_request": round(1000 * refused_cpu / TOTAL, 3),
            "note": "401 at the token check: the HTTP stack's ceiling on this machine",
        }
    )
    for figure in figures:
        print(json.dumps(figure))


if __name__ == "__main__":
    main()
