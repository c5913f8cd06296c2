"""A process that imported linkseq once and forks workers on request (fast SIGKILL tests).

Starting a Python worker costs about a second of imports; fifty crash runs would spend most of
their time there. The zygote imports everything once; each `spawn` forks a child that runs the
real CLI (`linkseq worker ...`) in its own process, which the test may SIGKILL.

Protocol, one JSON object per line on stdin → one per line on stdout:
  {"spawn": [args...], "env": {...}}  → {"pid": N}
  {"wait": N}                          → {"pid": N, "status": exit code or -signal}
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    """Serve spawn/wait requests until stdin closes."""
    import linkseq.cli.app
    import linkseq.engine.remote
    import linkseq.engine.runner
    import linkseq.store

    for line in sys.stdin:
        request = json.loads(line)
        if "spawn" in request:
            pid = os.fork()
            if pid == 0:
                os.dup2(2, 1)  # the protocol owns stdout; the child's output goes to stderr
                os.environ.update(request.get("env", {}))
                code = 0
                try:
                    linkseq.cli.app.app(request["spawn"], standalone_mode=False)
                except SystemExit as exc:
                    code = int(exc.code or 0)
                except BaseException as exc:
                    print(f"worker failed: {exc!r}", file=sys.stderr)
                    code = 3
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
            print(json.dumps({"pid": pid}), flush=True)
        elif "wait" in request:
            _, status = os.waitpid(int(request["wait"]), 0)
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            print(json.dumps({"pid": request["wait"], "status": code}), flush=True)


if __name__ == "__main__":
    main()
