"""linkseq: a self-hosted LinkedIn outreach sequencer on the Edges API."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
