"""Home page and health check."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_login import current_user

from lms import permissions
from lms.db import db

bp = Blueprint("main", __name__)


@bp.get("/")
@permissions.public
def index():
    return render_template("main/index.html", user=current_user if current_user.is_authenticated else None)


@bp.get("/healthz")
@permissions.public
def health():
    db.session.execute(sa.text("SELECT 1"))
    return {"status": "ok"}
