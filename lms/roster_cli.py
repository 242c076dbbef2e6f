"""``flask --app app lms import-users FILE``: the roster import from the command line.

It runs as the system (no acting person), checks the whole file first and writes nothing when any
row has a problem; every problem is printed and the exit status is 1. The initial password of new
accounts comes from ``--initial-password``, the ``LMS_IMPORT_PASSWORD`` environment variable or a
hidden prompt.
"""

from __future__ import annotations

import os

import click
from flask.cli import with_appcontext

from lms.db import db, utcnow
from lms.errors import ServiceError
from lms.timeutil import local_day


def _fail(lines) -> None:
    for line in lines:
        click.echo(str(line), err=True)
    raise SystemExit(1)


@click.command("import-users")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--initial-password", envvar="LMS_IMPORT_PASSWORD", default=None,
              help="Mật khẩu ban đầu của các tài khoản mới (initial password; or LMS_IMPORT_PASSWORD).")
@click.option("--dry-run", is_flag=True, help="Chỉ kiểm tra, không ghi gì (check only, write nothing).")
@with_appcontext
def import_users_command(file: str, initial_password: str | None, dry_run: bool) -> None:
    """Nhập danh sách người dùng từ tệp .xlsx/.csv (import people from FILE)."""
    from lms.services import roster

    with open(file, "rb") as handle:
        content = handle.read(roster.max_bytes() + 1)  # one byte more than allowed is enough to refuse it
    filename = roster.clean_filename(os.path.basename(file))
    today = local_day(utcnow())

    preview = roster.check(db.session, None, content, filename, today=today)
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
    password = initial_password
    if counts["create"] and not password:
        password = click.prompt("Mật khẩu ban đầu (initial password)", hide_input=True, confirmation_prompt=True)

    try:
        with click.progressbar(length=counts["rows"], label="Đang nhập (importing)") as bar:
            result = roster.apply(db.session, None, content, filename, password=password, today=today,
                                  progress=bar.update)
    except roster.RosterRejected as exc:
        db.session.rollback()
        _fail(exc.preview.messages() + [str(exc.message)])
    except ServiceError as exc:
        db.session.rollback()
        _fail([exc.message])
    db.session.commit()
    click.echo(f"Đã nhập: {result['created']} tạo mới, {result['updated']} cập nhật, "
               f"{result['unchanged']} không đổi. (Imported.)")
