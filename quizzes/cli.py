"""``flask --app app quizzes …``: the question bank from the command line, as the system actor.

``import-questions FILE`` reads a GIFT, Aiken, Moodle XML or Excel file, prints what it read and
every problem (``--json``: one JSON object, the shape in README), and saves the questions in one
transaction only when there is no problem and ``--dry-run`` is not given. Exit status 1 when the
file has problems.
"""

from __future__ import annotations

import json
import os

import click
from flask.cli import with_appcontext

from lms.actors import SYSTEM
from lms.db import db
from lms.errors import ServiceError


@click.group("quizzes", help="Ngân hàng câu hỏi và bài kiểm tra (question banks and quizzes).")
def quizzes_group() -> None:
    pass


@quizzes_group.command("import-questions")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["gift", "aiken", "xml", "xlsx"]),
              help="Định dạng tệp; mặc định: nhận ra từ nội dung và tên tệp.")
@click.option("--category", default="", help="Nhóm câu hỏi đích, các cấp cách nhau bởi “/”.")
@click.option("--dry-run", is_flag=True, help="Chỉ kiểm tra, không lưu.")
@click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON.")
@with_appcontext
def import_questions_command(file: str, fmt: str | None, category: str, dry_run: bool, as_json: bool) -> None:
    """Nhập câu hỏi từ tệp GIFT, Aiken, Moodle XML hoặc Excel."""
    from quizzes import services
    from quizzes.importing import MAX_BYTES, read_questions
    from quizzes.models import split_path

    with open(file, "rb") as handle:
        content = handle.read(MAX_BYTES + 1)
    target = tuple(p for p in (s.strip() for s in split_path(category)) if p) if category.strip() else ()
    result = read_questions(content, fmt, filename=os.path.basename(file))
    if as_json:
        click.echo(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
    else:
        for q in result.questions:
            where = "/".join(target + q.category) or services.DEFAULT_CATEGORY
            click.echo(f"{q.index:>4}  dòng {q.line:<5} {q.type:<18} {q.name[:50]}  [{where}]")
        for p in result.problems:
            label = f"câu {p.index}" if p.index else "tệp"
            click.echo(f"Lỗi ({label}, dòng {p.line}): {p.reason}", err=True)
        click.echo(f"Đọc được {len(result.questions)} câu hỏi, {len(result.problems)} lỗi.", err=True)
    if result.problems:
        raise SystemExit(1)
    if dry_run:
        return
    try:
        outcome = services.import_questions(db.session, SYSTEM, result, target)
    except ServiceError as exc:
        db.session.rollback()
        click.echo(str(exc.message), err=True)
        raise SystemExit(1) from None
    db.session.commit()
    if not as_json:
        click.echo(f"Đã nhập {outcome.created} câu hỏi. (Imported {outcome.created} questions.)", err=True)
