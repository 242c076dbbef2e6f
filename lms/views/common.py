"""Small pieces the platform's views share."""

from __future__ import annotations

from datetime import date

from flask import abort
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from lms import permissions
from lms.db import db, utcnow
from lms.models import Unit
from lms.timeutil import local_day
from lms.tree import load_tree


def actor():
    return current_user._get_current_object()


def today() -> date:
    return local_day(utcnow())


def show_errors(form, exc, field_of: dict | None = None) -> None:
    """Roll back a failed service call and put its messages on the form's fields (or on the
    form itself when no field matches)."""
    db.session.rollback()
    for name, message in (exc.errors or {None: exc.message}).items():
        name = (field_of or {}).get(name, name)
        field = getattr(form, name, None) if name else None
        if field is not None and hasattr(field, "errors") and hasattr(field, "data"):
            field.errors = list(field.errors) + [message]
        else:
            form.form_errors.append(message)


def get_or_404(model, object_id: int):
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    return obj


def tree_order(active_only: bool = True, within: set[int] | None = None,
               children: dict[int | None, list[Unit]] | None = None) -> list[tuple[Unit, int]]:
    """Units in tree order with their depth, limited to ``within`` when given; ``children`` is
    a children index (default: the tree as it stands now)."""
    if children is None:
        _, children = load_tree(db.session)
    out: list[tuple[Unit, int]] = []

    def walk(parent_id, depth, seen):
        for unit in children.get(parent_id, []):
            if unit.id in seen:
                continue
            if active_only and not unit.active:
                continue
            visible = within is None or unit.id in within
            if visible:
                out.append((unit, depth))
            walk(unit.id, depth + 1 if visible else depth, seen | {unit.id})

    walk(None, 0, frozenset())
    return out


def unit_choices(active_only: bool = True, manageable: bool = True, blank: str | None = None):
    within = permissions.managed_unit_ids(db.session, actor()) if manageable else None
    choices = [SelectChoice(0, blank)] if blank is not None else []
    for unit, depth in tree_order(active_only, within):
        choices.append(SelectChoice(unit.id, "\u2003" * depth + f"{unit.name} ({unit.code})"))
    return choices
