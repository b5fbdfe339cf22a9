"""Errors of use cases: a clear German message for the admin, and nothing stored."""

from __future__ import annotations


class UseCaseError(ValueError):
    """Bad input to a use case; the transaction is rolled back and nothing changes."""
