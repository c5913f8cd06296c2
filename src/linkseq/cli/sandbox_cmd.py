"""`linkseq sandbox serve`: the simulated Edges API + LinkedIn over real HTTP."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]

sandbox_app = typer.Typer(
    help="The simulated Edges API + LinkedIn (no real LinkedIn touched).\n\n"
    "Example: linkseq sandbox serve --port 8787",
    no_args_is_help=True,
)


@sandbox_app.command("serve")
def serve(
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8787,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    seed: Annotated[int, typer.Option(help="Seed of the world and of every outcome.")] = 7,
    world: Annotated[
        Path | None, typer.Option(help="A world file (YAML, see docs/sandbox.md).")
    ] = None,
    people: Annotated[int, typer.Option(help="How many people (without --world).")] = 300,
    identities: Annotated[
        int, typer.Option(help="Connected identities to create (without --world).")
    ] = 1,
    api_key: Annotated[str, typer.Option(help="The X-API-Key the sandbox expects.")] = (
        "sandbox-key"
    ),
) -> None:
    """Serve the sandbox's Edges wire and its /_sandbox admin endpoints.

    Example: linkseq sandbox serve --port 8787 --seed 7 --people 1000
    """
    import uvicorn

    from linkseq.errors import InputError
    from linkseq.sandbox import Sandbox, World

    base_url = f"http://{host}:{port}/v1"
    if world is not None:
        try:
            loaded = World.from_file(world, seed=seed)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"cannot load world file {world}: {exc}") from exc
        sb = Sandbox(seed=seed, world=loaded, api_key=api_key, base_url=base_url)
    else:
        sb = Sandbox(seed=seed, people=people, api_key=api_key, base_url=base_url)
        for i in range(identities):
            # Seasoned accounts (first sync a month ago): full Smart Limits from the start.
            sb.add_identity(
                name=f"Sandbox Sender {i + 1}", first_sync_at=sb.clock.now() - timedelta(days=30)
            )
    typer.echo(
        f"sandbox: {len(sb.world.people)} people, {len(sb.world.identities)} identities,"
        f" Edges base URL {base_url}, admin at http://{host}:{port}/_sandbox/"
    )
    uvicorn.run(sb.asgi_app, host=host, port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    """Add the `sandbox` group to the root command."""
    app.add_typer(sandbox_app, name="sandbox")
