"""Labeldesk's exceptions: one base class, subclasses saying what the user must fix."""
from __future__ import annotations


class LabeldeskError(Exception):
    """Base class of every error Labeldesk raises on purpose."""


class ConfigError(LabeldeskError):
    """The configuration is wrong; the message names the key and what to change."""

    def __init__(self, key: str, problem: str):
        self.key = key
        self.problem = problem
        super().__init__(f"{key}: {problem}")


class PluginError(LabeldeskError):
    """An enabled plugin broke (its own bug or a version mismatch), at start-up or in a hook while a ticket was
    handled; the message names it and, at start-up, the way out."""

    # Raised while a ticket was handled, after the other plugins' actions were carried out: what they did (the
    # host's ``Processed``), for the run's output to list like any other ticket's.
    processed = None


class GmailError(LabeldeskError):
    """A Gmail/Tasks API call failed after retries; says which mailbox and call."""


class VerificationError(LabeldeskError):
    """An inbound request could not be verified (bad or missing token)."""


class WrongAudience(VerificationError):
    """A token Google signed, but for another audience (another URL, another OAuth client): a setting to check."""

    def __init__(self, audience, expected: str):
        self.audience, self.expected = audience, expected
        super().__init__(f"Google signed it for {audience!r}, not {expected!r}")
