"""Home page and health check.

The home page shows, for the person logged in, what to do next. Feature packages add their
panels: a callable ``panel(session, person, today)`` appended to
``app.extensions["lms_home_panels"]`` returns a :class:`HomePanel` (or None when it has
nothing for that person); the panels are shown in the order they were registered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template
from flask_login import current_user

from lms import permissions
from lms.db import db
from lms.views.common import today


@dataclass
class HomePanel:
    #: The template included in the home page; it sees ``panel`` (this object).
    template: str
    context: dict[str, Any] = field(default_factory=dict)

bp = Blueprint("main", __name__)


@bp.get("/")
@permissions.public
def index():
    user = current_user if current_user.is_authenticated else None
    panels = []
    if user is not None:
        day = today()
        for make in current_app.extensions.get("lms_home_panels", []):
            panel = make(db.session, user, day)
            if panel is not None:
                panels.append(panel)
    return render_template("main/index.html", user=user, panels=panels)


@bp.get("/healthz")
@permissions.public
def health():
    db.session.execute(sa.text("SELECT 1"))
    return {"status": "ok"}
