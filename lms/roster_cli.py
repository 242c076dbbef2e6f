"""``flask --app app lms import-users FILE`` and ``flask --app app lms import-units FILE``: the
imports from the command line.

They run as the system actor, check the whole file first and write nothing when any row has a
problem; every problem is printed and the exit status is 1. With ``--dry-run`` they only check.
Otherwise the file is written in one transaction, in this process (no worker needed), with a
progress bar. The initial password of new accounts (people only) comes from
``--initial-password``, the ``LMS_IMPORT_PASSWORD`` environment variable or a hidden prompt.
"""

from __future__ import annotations

import os

import click
from flask.cli import with_appcontext

from lms.actors import SYSTEM
from lms.db import db, utcnow
from lms.errors import ServiceError
from lms.timeutil import local_day


def _fail(lines) -> None:
    for line in lines:
        click.echo(str(line), err=True)
    raise SystemExit(1)


def run_import(kind: str, file: str, *, dry_run: bool, password: str | None = None) -> None:
    from lms import spreadsheet
    from lms.jobs import Progress
    from lms.services import imports, roster, unit_import  # noqa: F401  (registers the importers)

    importer = imports.importer_for(kind)
    with open(file, "rb") as handle:
        content = handle.read(spreadsheet.max_bytes() + 1)  # one byte more than allowed is enough to refuse it
    filename = imports.clean_filename(os.path.basename(file))
    today = local_day(utcnow())

    preview = importer.check(db.session, SYSTEM, content, filename, today=today)
    db.session.rollback()
    if not preview.ok:
        lines = preview.messages()
        if not preview.file_errors:
            lines.append(f"Có {len(preview.problem_rows)} dòng lỗi; chưa ghi gì. "
                         f"({len(preview.problem_rows)} row(s) with problems; nothing written.)")
        _fail(lines)
    counts = preview.counts
    click.echo(f"{counts['rows']} dòng: {counts['create']} tạo mới, {counts['update']} cập nhật, "
               f"{counts['unchanged']} không đổi.")
    if dry_run:
        click.echo("Chạy thử: không ghi gì. (Dry run: nothing written.)")
        return
    if not preview.has_changes:
        click.echo("Không có gì để ghi. (Nothing to write.)")
        return
    if importer.needs_password and counts["create"] and not password:
        password = click.prompt("Mật khẩu ban đầu (initial password)", hide_input=True, confirmation_prompt=True)

    try:
        with click.progressbar(length=counts["rows"], label="Đang nhập (importing)") as bar:
            def show(done: int, total: int | None) -> None:
                bar.update(done - bar.pos)

            result = importer.apply(db.session, SYSTEM, content, filename, today=today, password=password,
                                    progress=Progress(on_change=show))
    except imports.ImportRejected as exc:
        db.session.rollback()
        _fail(exc.preview.messages() + [str(exc.message)])
    except ServiceError as exc:
        db.session.rollback()
        _fail([exc.message])
    db.session.commit()
    click.echo(f"Đã nhập: {result['created']} tạo mới, {result['updated']} cập nhật, "
               f"{result['unchanged']} không đổi. (Imported.)")


@click.command("import-users")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--initial-password", envvar="LMS_IMPORT_PASSWORD", default=None,
              help="Mật khẩu ban đầu của các tài khoản mới (initial password; or LMS_IMPORT_PASSWORD).")
@click.option("--dry-run", is_flag=True, help="Chỉ kiểm tra, không ghi gì (check only, write nothing).")
@with_appcontext
def import_users_command(file: str, initial_password: str | None, dry_run: bool) -> None:
    """Nhập danh sách người dùng từ tệp .xlsx/.csv (import people from FILE)."""
    run_import("people", file, dry_run=dry_run, password=initial_password)


@click.command("import-units")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--dry-run", is_flag=True, help="Chỉ kiểm tra, không ghi gì (check only, write nothing).")
@with_appcontext
def import_units_command(file: str, dry_run: bool) -> None:
    """Nhập cơ cấu tổ chức từ tệp .xlsx/.csv (import the organisation tree from FILE)."""
    run_import("units", file, dry_run=dry_run)
