"""The app plus one bare page for the benchmarks' floor: ``/bench/floor`` reads one person by
primary key and renders a tiny template, on the same stack (gunicorn, Flask, SQLAlchemy, the
session cookie). Served as ``bench.floor:app``; never part of the product."""

from __future__ import annotations

from flask import render_template_string

from app import app
from lms.db import db
from lms.models import Person

_TINY = "<!doctype html><title>floor</title><p>{{ person.full_name if person else '-' }}</p>"


@app.get("/bench/floor")
def bench_floor():
    return render_template_string(_TINY, person=db.session.get(Person, 1))
