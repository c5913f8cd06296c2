"""linkseq.sandbox: a simulated Edges API and LinkedIn, with a virtual clock, faults and truth.

It plays a third party: it imports nothing of linkseq but the clock, so that a mistake in the
client is never mirrored here. See docs/sandbox.md.
"""

from __future__ import annotations

from ._clock import VirtualClock
from ._core import urllib_deliver
from ._errors import AnswerLost
from ._faults import FaultConfig
from ._people import People, Person
from ._report import BREACHES
from ._sandbox import Sandbox
from ._world import IdentitySpec, NetworkSpec, WorkingHours, World

__all__ = [
    "BREACHES",
    "AnswerLost",
    "FaultConfig",
    "IdentitySpec",
    "NetworkSpec",
    "People",
    "Person",
    "Sandbox",
    "VirtualClock",
    "WorkingHours",
    "World",
    "urllib_deliver",
]
