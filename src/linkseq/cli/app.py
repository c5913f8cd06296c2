"""The root `linkseq` command. Each command group lives in its own module and is added here.

Errors: a `LinkseqError` (or a pydantic validation error) becomes one clear line on stderr and
exit code 1; usage errors exit 2 (Typer's own). A traceback is shown only with `--debug`.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from linkseq import __version__
from linkseq.errors import LinkseqError

__all__ = ["app", "main"]

app = typer.Typer(
    name="linkseq",
    help="Self-hosted LinkedIn outreach sequencer on the Edges API.\n\nExample: linkseq demo",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err_console = Console(stderr=True, soft_wrap=True)  # one error, one line
_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"linkseq {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Self-hosted LinkedIn outreach sequencer on the Edges API.

    Example: linkseq demo
    """
    _state["debug"] = debug
    from linkseq.logging import configure_logging

    # logs go to stderr, and only warnings: stdout stays clean for --json
    configure_logging("WARNING")


def _register() -> None:
    """Add every command group; a group whose module is absent is simply not offered."""
    import importlib

    for module_name in (
        "linkseq.cli.init_cmd",
        "linkseq.cli.db_cmd",
        "linkseq.cli.identities_cmd",
        "linkseq.cli.leads_cmd",
        "linkseq.cli.dnc_cmd",
        "linkseq.cli.campaigns_cmd",
        "linkseq.cli.run_cmd",
        "linkseq.cli.serve_cmd",
        "linkseq.cli.inbox_cmd",
        "linkseq.cli.sandbox_cmd",
        "linkseq.cli.demo_cmd",
    ):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        module.register(app)


_register()


def _error(message: str) -> None:
    """One line on stderr; the message is text, never Rich markup (it may hold brackets)."""
    err_console.print(Text.assemble(("error:", "red"), " ", message), highlight=False)


def main() -> None:
    """Entry point of the `linkseq` console script."""
    from linkseq.runtime import tune_gc

    tune_gc()  # the process's collector: a worker, a demo or a server runs for long
    debug = "--debug" in sys.argv
    try:
        app(standalone_mode=True)
    except LinkseqError as exc:
        if debug:
            raise
        _error(str(exc))
        sys.exit(exc.exit_code)
    except Exception as exc:
        from linkseq.edges import EdgesError

        if debug or not isinstance(exc, EdgesError):
            raise
        # an Edges refusal the user can act on (bad key, expired session...): one line too
        _error(f"Edges: {exc}")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
