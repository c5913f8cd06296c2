"""User-facing errors: raised for bad input or bad state, shown as one clear line by the CLI.

LinkseqError            anything a user can act on; the CLI prints it and exits 1
├── ConfigError         a setting is missing or wrong
├── InputError          bad user input (a CSV, a campaign file, an argument)
└── NotFoundError       a named thing (lead, campaign, identity) does not exist
"""

from __future__ import annotations

__all__ = ["ConfigError", "InputError", "LinkseqError", "NotFoundError"]


class LinkseqError(Exception):
    """Something went wrong that the user can act on."""

    exit_code = 1


class ConfigError(LinkseqError):
    """A setting is missing or wrong."""


class InputError(LinkseqError):
    """The input given is not valid."""


class NotFoundError(LinkseqError):
    """The named object does not exist."""
