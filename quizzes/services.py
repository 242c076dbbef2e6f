"""Write operations on the question bank. Each takes the session and the acting person (or the
system actor), flushes and never commits.

Questions arrive as :class:`~quizzes.formats.base.ParsedQuestion` whether typed in a form or read
from a file, so a question saved by hand and one imported from GIFT go through the same checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from courses.models import ContentArea, Convention
from lms import audit, permissions
from lms.actors import Actor, is_system
from lms.errors import ServiceError
from lms.i18n import lazy_gettext as _l
from lms.text import clean, fold, nfc, sort_key
from quizzes.formats.base import TEXT_FORMATS, ParsedOption, ParsedQuestion, ParseResult, check, name_from_text
from quizzes.models import (
    Question,
    QuestionCategory,
    QuestionOption,
    QuestionType,
    QuestionVersion,
    TextFormat,
    join_path,
    split_path,
)

MAX_CATEGORY_NAME = 255
#: Where questions go when neither the import nor the file names a category.
DEFAULT_CATEGORY = "Nhóm chung"
MAX_DEPTH = 20


def _require(session: Session, actor: Actor | None) -> None:
    if actor is None or not permissions.can(session, actor, "question.manage"):
        raise ServiceError(_l("Bạn không có quyền quản lý ngân hàng câu hỏi."))


def _actor_id(actor: Actor) -> int | None:
    return None if is_system(actor) else actor.id


def clean_category_name(value: str | None) -> str:
    """A category name as stored: cleaned, without slashes at its ends (they would make the path
    ambiguous), at most 255 characters."""
    name = clean(value).strip("/").strip()
    if not name:
        raise ServiceError(_l("Hãy nhập tên nhóm câu hỏi."), field="name")
    if len(name) > MAX_CATEGORY_NAME:
        raise ServiceError(_l("Tên nhóm câu hỏi dài quá %(n)s ký tự.", n=MAX_CATEGORY_NAME), field="name")
    return name


# -- categories -----------------------------------------------------------------------------


def category_by_path(session: Session, names: Sequence[str]) -> QuestionCategory | None:
    return session.scalar(sa.select(QuestionCategory).where(QuestionCategory.path == join_path(names)))


def create_category(session: Session, actor: Actor, name: str, parent: QuestionCategory | None = None,
                    description: str = "") -> QuestionCategory:
    _require(session, actor)
    name = clean_category_name(name)
    names = [*(split_path(parent.path) if parent else []), name]
    if len(names) > MAX_DEPTH:
        raise ServiceError(_l("Nhóm câu hỏi lồng nhau quá %(n)s cấp.", n=MAX_DEPTH), field="parent")
    if category_by_path(session, names) is not None:
        raise ServiceError(_l("Đã có nhóm câu hỏi “%(name)s” ở đây.", name=name), field="name")
    category = QuestionCategory(parent=parent, name=name, path=join_path(names),
                                description=nfc(description or "")[:20_000], sort_key=sort_key(name),
                                created_by_id=_actor_id(actor))
    session.add(category)
    session.flush()
    audit.record(session, actor, "question_category.create", object_type="question_category",
                 object_id=category.id, summary=category.path)
    return category


def ensure_path(session: Session, actor: Actor, names: Sequence[str],
                descriptions: dict[tuple[str, ...], str] | None = None) -> QuestionCategory:
    """The category at ``names`` (from the top), creating the missing ones on the way."""
    _require(session, actor)
    cleaned = [clean_category_name(n) for n in names]
    if not cleaned:
        raise ServiceError(_l("Hãy chọn nhóm câu hỏi."), field="category")
    parent: QuestionCategory | None = None
    for depth in range(1, len(cleaned) + 1):
        found = category_by_path(session, cleaned[:depth])
        if found is None:
            description = (descriptions or {}).get(tuple(names[:depth]), "")
            found = create_category(session, actor, cleaned[depth - 1], parent, description)
        parent = found
    assert parent is not None
    return parent


def rename_category(session: Session, actor: Actor, category: QuestionCategory, name: str,
                    description: str | None = None) -> None:
    """Rename a category; the paths of everything below it follow."""
    _require(session, actor)
    name = clean_category_name(name)
    old_path = category.path
    names = split_path(old_path)
    names[-1] = name
    new_path = join_path(names)
    if new_path != old_path:
        if category_by_path(session, names) is not None:
            raise ServiceError(_l("Đã có nhóm câu hỏi “%(name)s” ở đây.", name=name), field="name")
        below = session.scalars(sa.select(QuestionCategory).where(
            QuestionCategory.path.startswith(old_path + "/", autoescape=True))).all()
        for child in below:
            # Only a real boundary: "a/b" must not rename "a/bc" (startswith("a/b/") is exact).
            child.path = new_path + child.path[len(old_path):]
        category.name = name
        category.path = new_path
        category.sort_key = sort_key(name)
    if description is not None:
        category.description = nfc(description)[:20_000]
    session.flush()
    audit.record(session, actor, "question_category.update", object_type="question_category",
                 object_id=category.id, summary=f"{old_path} → {category.path}" if new_path != old_path else new_path)


def delete_category(session: Session, actor: Actor, category: QuestionCategory) -> None:
    """Delete an empty category (no question and no sub-category)."""
    _require(session, actor)
    has_child = session.scalar(sa.select(QuestionCategory.id).where(
        QuestionCategory.parent_id == category.id).limit(1))
    has_question = session.scalar(sa.select(Question.id).where(Question.category_id == category.id).limit(1))
    if has_child or has_question:
        raise ServiceError(_l("Chỉ xóa được nhóm câu hỏi trống (không còn câu hỏi hay nhóm con)."))
    audit.record(session, actor, "question_category.delete", object_type="question_category",
                 object_id=category.id, summary=category.path)
    session.delete(category)
    session.flush()


# -- questions ------------------------------------------------------------------------------


def _search_text(q: ParsedQuestion) -> str:
    return fold(f"{q.name} {q.text}")[:4000]


def _normalised(q: ParsedQuestion) -> ParsedQuestion:
    """NFC everywhere, a name derived from the text when the file gave none."""
    q.name = clean(q.name)[:255]
    q.text = nfc(q.text)
    q.general_feedback = nfc(q.general_feedback)
    for o in q.options:
        o.text, o.feedback, o.match = nfc(o.text), nfc(o.feedback), nfc(o.match)
    if not q.name:
        q.name = name_from_text(q.text)[:255] or "Câu hỏi"
    if q.type == "description":
        q.default_mark = 0.0  # text only: it never weighs in a quiz's mark
    return q


def _version(q: ParsedQuestion, number: int, actor: Actor) -> QuestionVersion:
    version = QuestionVersion(
        number=number, type=QuestionType(q.type), name=q.name, text=q.text, text_format=TextFormat(q.text_format),
        general_feedback=q.general_feedback, default_mark=Decimal(str(round(q.default_mark, 3))),
        settings=dict(q.settings), created_by_id=_actor_id(actor))
    version.options = [
        QuestionOption(position=i, text=o.text, text_format=TextFormat(o.text_format if o.text_format in TEXT_FORMATS else "html"),
                       fraction=Decimal(str(round(o.fraction, 7))), feedback=o.feedback, match=o.match,
                       tolerance=float(o.tolerance))
        for i, o in enumerate(q.options, start=1)
    ]
    return version


def _problems(q: ParsedQuestion) -> None:
    reasons = check(q)
    if reasons:
        raise ServiceError("; ".join(reasons), field="question")


def create_question(session: Session, actor: Actor, category: QuestionCategory, parsed: ParsedQuestion, *,
                    conventions: Iterable[Convention] = (), contents: Iterable[ContentArea] = (),
                    audit_it: bool = True) -> Question:
    _require(session, actor)
    parsed = _normalised(parsed)
    _problems(parsed)
    question = Question(category=category, current_number=1, type=QuestionType(parsed.type), name=parsed.name,
                        search_text=_search_text(parsed), created_by_id=_actor_id(actor))
    question.conventions = list(conventions)
    question.contents = list(contents)
    question.versions = [_version(parsed, 1, actor)]
    session.add(question)
    session.flush()
    if audit_it:
        audit.record(session, actor, "question.create", object_type="question", object_id=question.id,
                     summary=question.name)
    return question


def revise_question(session: Session, actor: Actor, question: Question, parsed: ParsedQuestion, *,
                    conventions: Iterable[Convention] | None = None,
                    contents: Iterable[ContentArea] | None = None) -> QuestionVersion:
    """Save a changed question as its next version; earlier versions stay as they were."""
    _require(session, actor)
    parsed = _normalised(parsed)
    _problems(parsed)
    number = question.current_number + 1
    version = _version(parsed, number, actor)
    question.versions.append(version)
    question.current_number = number
    question.type = QuestionType(parsed.type)
    question.name = parsed.name
    question.search_text = _search_text(parsed)
    if conventions is not None:
        question.conventions = list(conventions)
    if contents is not None:
        question.contents = list(contents)
    session.flush()
    audit.record(session, actor, "question.update", object_type="question", object_id=question.id,
                 summary=f"{question.name} (v{number})")
    return version


def as_parsed(version: QuestionVersion, category_path: str = "", index: int = 1) -> ParsedQuestion:
    """A stored version in the readers' shape, for export and for editing."""
    return ParsedQuestion(
        index=index, line=0, type=str(version.type), name=version.name, text=version.text,
        text_format=str(version.text_format), category=tuple(split_path(category_path)) if category_path else (),
        options=[ParsedOption(text=o.text, fraction=float(o.fraction), feedback=o.feedback,
                              text_format=str(o.text_format), match=o.match, tolerance=o.tolerance)
                 for o in version.options],
        general_feedback=version.general_feedback, default_mark=float(version.default_mark),
        settings=dict(version.settings or {}))


# -- import ---------------------------------------------------------------------------------


@dataclass
class ImportOutcome:
    created: int = 0
    categories: list[str] = field(default_factory=list)


def _tag_lookup(session: Session) -> tuple[dict[str, Convention], dict[str, ContentArea]]:
    conventions = {fold(c.code): c for c in session.scalars(sa.select(Convention))}
    contents: dict[str, ContentArea] = {}
    for area in session.scalars(sa.select(ContentArea)):
        for key in (f"nd{area.number}", f"noidung{area.number}", f"content{area.number}", fold(area.short_vi)):
            contents[key.replace(" ", "")] = area
    return conventions, contents


def import_questions(session: Session, actor: Actor, result: ParseResult,
                     target: Sequence[str]) -> ImportOutcome:
    """Save every question of a read file under the category ``target`` (a path from the top);
    the file's own categories nest below it. All or nothing: the caller commits only when this
    returns, and a file with problems is refused (the preview lists them first)."""
    _require(session, actor)
    if result.problems:
        raise ServiceError(_l("Tệp còn %(n)s lỗi; hãy sửa tệp rồi nhập lại.", n=len(result.problems)))
    if not result.questions:
        raise ServiceError(_l("Tệp không có câu hỏi nào để nhập."))
    target = tuple(target)
    descriptions = {target + c.path: c.description for c in result.categories if c.description}
    conventions, contents = _tag_lookup(session)
    outcome = ImportOutcome()
    cache: dict[tuple[str, ...], QuestionCategory] = {}
    for parsed in result.questions:
        path = target + tuple(parsed.category) or (DEFAULT_CATEGORY,)
        if path not in cache:
            cache[path] = ensure_path(session, actor, path, descriptions)
            outcome.categories.append(cache[path].path)
        tags = [fold(t).replace(" ", "") for t in parsed.tags]
        create_question(session, actor, cache[path], parsed,
                        conventions=[conventions[t] for t in dict.fromkeys(tags) if t in conventions],
                        contents=list({id(contents[t]): contents[t] for t in tags if t in contents}.values()),
                        audit_it=False)
        outcome.created += 1
    for c in result.categories:
        if target + c.path:
            ensure_path(session, actor, target + c.path, descriptions)
    audit.record(session, actor, "question.import", object_type="question_category",
                 object_id=cache[next(iter(cache))].id if cache else None,
                 summary=f"{outcome.created} câu hỏi → {join_path(target)}")
    return outcome


# -- hiding and export (the bank's screens) --------------------------------------------------


def set_question_hidden(session: Session, actor: Actor, question: Question, hidden: bool) -> None:
    """Hide a question (it stays for the attempts that used it but is no longer offered) or show
    it again. Questions are never deleted once written."""
    _require(session, actor)
    if question.hidden == hidden:
        return
    question.hidden = hidden
    session.flush()
    audit.record(session, actor, "question.update", object_type="question", object_id=question.id,
                 summary=f"{question.name} ({'ẩn' if hidden else 'hiện lại'})")


def export_category(session: Session, actor: Actor, category: QuestionCategory, fmt: str) -> bytes:
    """The current versions of every question of ``category`` and the categories below it, as a
    GIFT (``fmt="gift"``) or Moodle XML (``"xml"``) file. Paths start at ``category`` itself, so
    importing the file into any category recreates the same tree below it."""
    from quizzes.formats.base import ParsedCategory
    from quizzes.formats.gift import write_gift
    from quizzes.formats.moodle_xml import write_moodle_xml

    _require(session, actor)
    below = session.scalars(sa.select(QuestionCategory).where(sa.or_(
        QuestionCategory.id == category.id,
        QuestionCategory.path.startswith(category.path + "/", autoescape=True)))).all()
    cut = len(split_path(category.path)) - 1
    relative = {c.id: tuple(split_path(c.path)[cut:]) for c in below}
    questions = session.scalars(
        sa.select(Question).where(Question.category_id.in_(list(relative)))
        .options(selectinload(Question.versions).selectinload(QuestionVersion.options),
                 selectinload(Question.conventions), selectinload(Question.contents))
        .order_by(Question.category_id, Question.id)).all()
    questions = sorted(questions, key=lambda q: (relative[q.category_id], q.id))
    parsed: list[ParsedQuestion] = []
    for i, question in enumerate(questions, start=1):
        p = as_parsed(question.current, index=i)
        p.category = relative[question.category_id]
        p.tags = [c.code for c in question.conventions] + [f"ND{c.number}" for c in question.contents]
        parsed.append(p)
    if fmt == "xml":
        cats = [ParsedCategory(relative[c.id], c.description or "") for c in sorted(below, key=lambda c: c.path)]
        return write_moodle_xml(parsed, cats)
    return write_gift(parsed).encode("utf-8")
