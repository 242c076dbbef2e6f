"""Command line: ``flask --app app lms ...``. The schema is made only by migrations."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from lms.actors import SYSTEM
from lms.db import db
from lms.errors import ServiceError


@click.group("lms", help="Quản trị hệ thống bồi dưỡng (LMS administration).")
def lms_group() -> None:
    pass


@lms_group.command("init")
@with_appcontext
def init_command() -> None:
    """Apply every migration and load reference data."""
    from flask_migrate import upgrade

    upgrade()
    for loader in current_app.extensions.get("lms_reference_loaders", []):
        loader(db.session)
    db.session.commit()
    click.echo("Cơ sở dữ liệu đã sẵn sàng. (Database is up to date.)")


@lms_group.command("create-admin")
@click.option("--email", prompt="Thư điện tử (e-mail)")
@click.option("--name", "full_name", prompt="Họ và tên (full name)")
@click.option("--unit", "unit_code", default=None, help="Mã đơn vị (unit code); created as ROOT if none exists.")
@click.password_option("--password", prompt="Mật khẩu (password)")
@with_appcontext
def create_admin_command(email: str, full_name: str, unit_code: str | None, password: str) -> None:
    """Create an administrator (or give an existing person the administrator role)."""
    import sqlalchemy as sa

    from lms.db import utcnow
    from lms.models import Role, Unit, UnitKind
    from lms.services import people, units
    from lms.timeutil import local_day

    today = local_day(utcnow())
    try:
        existing = people.find_by_email(db.session, email)
        if existing is not None:
            people.grant_role(db.session, SYSTEM, existing, Role.ADMIN)
            people.reset_password(db.session, SYSTEM, existing, password, utcnow())
            existing.must_change_password = False
            person = existing
        else:
            if unit_code:
                unit = db.session.scalar(sa.select(Unit).where(Unit.code == unit_code.upper()))
                if unit is None:
                    raise click.ClickException(f"Không có đơn vị mã {unit_code} (unknown unit code).")
            else:
                unit = db.session.scalar(sa.select(Unit).where(Unit.parent_id.is_(None), Unit.active.is_(True))
                                         .order_by(Unit.id))
                if unit is None:
                    unit = units.create_unit(db.session, SYSTEM, name="Đơn vị gốc", code="ROOT",
                                             kind=UnitKind.DEPARTMENT, parent=None, on=today)
            person = people.create_person(
                db.session, SYSTEM, people.PersonInput(full_name, email), unit=unit, password=password,
                on=today, roles=(Role.ADMIN,), must_change_password=False,
            )
    except ServiceError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc.message)) from None
    db.session.commit()
    click.echo(f"Quản trị hệ thống: {person.email} (administrator ready)")


@lms_group.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load the demo organisation tree and demo accounts (idempotent)."""
    from lms.demo import DEMO_PASSWORD, seed_demo

    accounts = seed_demo(db.session)
    for seeder in current_app.extensions.get("lms_demo_seeders", []):
        seeder(db.session)
    db.session.commit()
    click.echo("Tài khoản thử nghiệm (demo accounts) — mật khẩu (password): " + DEMO_PASSWORD)
    for account in accounts:
        roles = ", ".join(r.value for r in account.roles)
        click.echo(f"  {account.email:<28} {roles}")


def _register_import(group: click.Group) -> None:
    from lms.roster_cli import import_units_command, import_users_command

    group.add_command(import_users_command)
    group.add_command(import_units_command)


_register_import(lms_group)


@lms_group.command("worker")
@click.option("--workers", default=2, show_default=True, help="Công việc chạy song song (parallel jobs).")
@with_appcontext
def worker_command(workers: int) -> None:
    """Chạy tiến trình xử lý công việc nền (run the background-job worker)."""
    from lms.jobs import jobs_mode, queue

    mode = jobs_mode(current_app.config)
    if mode == "immediate":
        raise click.ClickException("LMS_JOBS=immediate runs jobs inside the web process; no worker is needed.")
    click.echo(f"Đang xử lý công việc nền ({mode}, {workers} luồng). (Worker running; Ctrl+C to stop.)")
    queue().create_consumer(workers=max(1, workers), worker_type="thread").run()
