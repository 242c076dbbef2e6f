"""Forms of a trainee's attempts. The answers of a page are read from the request by the view
(their fields depend on the questions drawn); these forms carry the CSRF token of each POST."""

from __future__ import annotations

from flask_wtf import FlaskForm


class StartForm(FlaskForm):
    """Start (or continue) an attempt."""


class AttemptForm(FlaskForm):
    """One page of an attempt: the answers, the page shown and where to go next."""


class FinishForm(FlaskForm):
    """Submit the attempt (after the confirmation page)."""
