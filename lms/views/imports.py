"""Roster import (placeholder until the importer lands in this same change)."""

from flask import Blueprint, render_template

from lms import permissions

bp = Blueprint("imports", __name__, url_prefix="/admin/import")


@bp.get("/")
@permissions.people_managers
def upload():
    return render_template("errors/error.html", code=501, title="", message=""), 501
