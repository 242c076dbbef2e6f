"""Write operations of the courses feature. Each takes the session and the acting person,
checks permission through :mod:`lms.permissions`, flushes and never commits."""

from __future__ import annotations

import hashlib
import secrets
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import BinaryIO
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from courses import completion
from courses.models import (
    Audience,
    ContentArea,
    Convention,
    Course,
    CourseAudience,
    CourseStatus,
    CourseTrainer,
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    Lesson,
    LessonProgress,
    Material,
    MaterialKind,
    Section,
)
from courses.text import render
from courses.uploads import UploadRefused, classify, kind_for
from lms import audit, jobs, permissions
from lms.actors import Actor
from lms.db import affected_rows, is_storage_full
from lms.errors import PermissionDenied, ServiceError
from lms.i18n import lazy_gettext as _l
from lms.models import EmploymentType, KeyCadrePeriod, Membership, Person, Role, TitleKind
from lms.signals import course_completed
from lms.storage import STORAGE_FAILED, StorageError, delete_after_commit, get_storage, track_new
from lms.text import clean, fold
from lms.tree import subtree_cte, title_holders_select

TITLE_MAX = 255
SUMMARY_MAX = 1000


# -- helpers --------------------------------------------------------------------------------

def _require(session: Session, actor: Actor, action: str, obj=None, message=None) -> None:
    if not permissions.can(session, actor, action, obj):
        raise PermissionDenied(message or _l("Bạn không có quyền thực hiện thao tác này với khóa học."))


def _title(value: str | None, field_name: str = "title", what=None) -> str:
    title = clean(value)
    if not title:
        raise ServiceError(what or _l("Vui lòng nhập tiêu đề."), field_name)
    if len(title) > TITLE_MAX:
        raise ServiceError(_l("Tiêu đề không được dài quá %(n)s ký tự.", n=TITLE_MAX), field_name)
    return title


def _index(course: Course) -> None:
    tags = " ".join(c.code for c in course.conventions)
    course.search_text = fold(f"{course.title} {course.summary} {tags}")[:1500]


# -- courses --------------------------------------------------------------------------------

@dataclass
class CourseInput:
    title: str
    summary: str = ""
    description: str = ""
    convention_ids: list[int] = field(default_factory=list)
    content_ids: list[int] = field(default_factory=list)
    audiences: list[str] = field(default_factory=list)
    credited_hours: str | Decimal | float | int = 0
    counts_toward_target: bool = True
    self_enrol: bool = True
    open_access: bool = False


def _apply_course(session: Session, course: Course, data: CourseInput) -> None:
    errors = {}
    try:
        course.title = _title(data.title)
    except ServiceError as exc:
        errors["title"] = exc.message
    summary = clean(data.summary)
    if len(summary) > SUMMARY_MAX:
        errors["summary"] = _l("Tóm tắt không được dài quá %(n)s ký tự.", n=SUMMARY_MAX)
    try:
        hours = Decimal(str(data.credited_hours if data.credited_hours not in (None, "") else 0))
        if not hours.is_finite() or hours < 0 or hours > 1000:
            raise InvalidOperation
        hours = hours.quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        errors["credited_hours"] = _l("Số giờ phải là số từ 0 đến 1000.")
        hours = Decimal(0)
    try:
        audiences = {Audience(a) for a in data.audiences}
    except ValueError:
        errors["audiences"] = _l("Lựa chọn không hợp lệ.")
        audiences = set()
    conventions = list(session.scalars(sa.select(Convention).where(Convention.id.in_(data.convention_ids or []))))
    contents = list(session.scalars(sa.select(ContentArea).where(ContentArea.id.in_(data.content_ids or []))))
    if len(conventions) != len(set(data.convention_ids or [])) or len(contents) != len(set(data.content_ids or [])):
        errors["convention_ids"] = _l("Lựa chọn không hợp lệ.")
    if errors:
        first = next(iter(errors))
        raise ServiceError(errors[first], first, errors)
    course.summary = summary
    course.description_source = (data.description or "")[:100_000]
    course.description_html = render(course.description_source)
    course.credited_hours = hours
    course.counts_toward_target = bool(data.counts_toward_target)
    course.self_enrol = bool(data.self_enrol)
    course.open_access = bool(data.open_access)
    course.conventions = conventions
    course.contents = contents
    course.audiences = [a for a in course.audiences if a.audience in audiences] + [
        CourseAudience(audience=a) for a in sorted(audiences - course.audience_set)]
    _index(course)


def create_course(session: Session, actor: Actor, data: CourseInput) -> Course:
    _require(session, actor, "course.create", message=_l("Chỉ giảng viên và quản trị viên được tạo khóa học."))
    course = Course(owner_id=actor.id, status=CourseStatus.DRAFT)
    _apply_course(session, course, data)
    session.add(course)
    session.flush()
    audit.record(session, actor, "course.create", object_type="course", object_id=course.id, summary=course.title)
    return course


def update_course(session: Session, actor: Actor, course: Course, data: CourseInput) -> Course:
    _require(session, actor, "course.edit", course)
    _apply_course(session, course, data)
    session.flush()
    audit.record(session, actor, "course.update", object_type="course", object_id=course.id, summary=course.title)
    return course


def set_status(session: Session, actor: Actor, course: Course, status: CourseStatus | str, now: datetime) -> Course:
    _require(session, actor, "course.edit", course)
    status = CourseStatus(status)
    if status == CourseStatus.PUBLISHED:
        lessons = session.scalar(sa.select(sa.func.count()).select_from(Lesson).where(Lesson.course_id == course.id))
        if not lessons:
            raise ServiceError(_l("Khóa học cần có ít nhất một bài học trước khi xuất bản."), "status")
        course.published_at = course.published_at or now
    course.status = status
    session.flush()
    audit.record(session, actor, f"course.{status.value}", object_type="course", object_id=course.id,
                 summary=course.title)
    return course


def add_co_trainer(session: Session, actor: Actor, course: Course, person: Person) -> bool:
    _require(session, actor, "course.edit", course)
    if not person.active or not (person.has_role(Role.TRAINER) or person.has_role(Role.ADMIN)):
        raise ServiceError(_l("Chỉ mời được người có vai trò giảng viên và đang hoạt động."), "person")
    if person.id == course.owner_id or any(t.person_id == person.id for t in course.trainers):
        return False
    course.trainers.append(CourseTrainer(person_id=person.id, person=person))
    session.flush()
    audit.record(session, actor, "course.co_trainer_add", object_type="course", object_id=course.id,
                 summary=f"{course.title}: {person.full_name}")
    return True


def remove_co_trainer(session: Session, actor: Actor, course: Course, person_id: int) -> bool:
    _require(session, actor, "course.edit", course)
    for trainer in list(course.trainers):
        if trainer.person_id == person_id:
            course.trainers.remove(trainer)
            session.flush()
            audit.record(session, actor, "course.co_trainer_remove", object_type="course", object_id=course.id,
                         summary=course.title)
            return True
    return False


# -- sections and lessons -------------------------------------------------------------------

def add_section(session: Session, actor: Actor, course: Course, title: str) -> Section:
    _require(session, actor, "course.edit", course)
    section = Section(title=_title(title), position=len(course.sections))
    course.sections.append(section)
    session.flush()
    return section


def rename_section(session: Session, actor: Actor, section: Section, title: str) -> Section:
    _require(session, actor, "course.edit", section.course)
    section.title = _title(title)
    session.flush()
    return section


def delete_section(session: Session, actor: Actor, section: Section, now: datetime) -> None:
    course = section.course
    _require(session, actor, "course.edit", course)
    for lesson in section.lessons:
        _delete_files_after_commit(session, lesson.materials)
    marks = _forget_progress(session, [lesson.id for lesson in section.lessons])
    course.sections.remove(section)
    session.delete(section)
    _renumber(course.sections)
    session.flush()
    audit.record(session, actor, "course.section_delete", object_type="course", object_id=course.id,
                 summary=f"{course.title}: {section.title}", details={"progress_removed": marks})
    schedule_recompute(session, actor, course, now)


def _forget_progress(session: Session, lesson_ids: list[int]) -> int:
    """Learners' "done" marks on lessons that are being deleted go with them, explicitly (the
    database refuses to cascade history); completions already recorded on enrolments stay."""
    if not lesson_ids:
        return 0
    return affected_rows(session, session.execute(
        sa.delete(LessonProgress).where(LessonProgress.lesson_id.in_(lesson_ids))
        .execution_options(synchronize_session=False)))


def _delete_files_after_commit(session: Session, materials: Iterable[Material]) -> None:
    """The stored files of ``materials`` go once their rows are gone for good."""
    for material in materials:
        if material.storage_key:
            delete_after_commit(session, material.storage_key)


def _renumber(items) -> None:
    for position, item in enumerate(items):
        item.position = position


def move(session: Session, actor: Actor, item: Section | Lesson, direction: int) -> None:
    """Move a section or lesson one place up (-1) or down (+1)."""
    course = item.course if isinstance(item, Section) else item.section.course
    _require(session, actor, "course.edit", course)
    siblings = course.sections if isinstance(item, Section) else item.section.lessons
    index = siblings.index(item)
    other = index + (1 if direction > 0 else -1)
    if 0 <= other < len(siblings):
        siblings[index].position, siblings[other].position = siblings[other].position, siblings[index].position
        session.flush()
        session.expire(course if isinstance(item, Section) else item.section,
                       ["sections"] if isinstance(item, Section) else ["lessons"])


@dataclass
class LessonInput:
    title: str
    body: str = ""
    required: bool = True
    minutes: int | str = 10
    convention_ids: list[int] = field(default_factory=list)
    content_ids: list[int] = field(default_factory=list)


def _apply_lesson(session: Session, lesson: Lesson, data: LessonInput) -> None:
    errors = {}
    try:
        lesson.title = _title(data.title)
    except ServiceError as exc:
        errors["title"] = exc.message
    try:
        minutes = int(data.minutes or 0)
        if not 0 <= minutes <= 10_000:
            raise ValueError
    except (TypeError, ValueError):
        errors["minutes"] = _l("Thời lượng phải là số phút từ 0 đến 10000.")
        minutes = 0
    body = data.body or ""
    if len(body) > 200_000:
        errors["body"] = _l("Nội dung bài học quá dài (tối đa 200.000 ký tự).")
    if errors:
        first = next(iter(errors))
        raise ServiceError(errors[first], first, errors)
    lesson.minutes = minutes
    lesson.required = bool(data.required)
    lesson.body_source = body
    lesson.body_html = render(body)
    lesson.conventions = list(session.scalars(sa.select(Convention).where(Convention.id.in_(data.convention_ids or []))))
    lesson.contents = list(session.scalars(sa.select(ContentArea).where(ContentArea.id.in_(data.content_ids or []))))


def add_lesson(session: Session, actor: Actor, section: Section, data: LessonInput, now: datetime) -> Lesson:
    """Add a lesson. A new lesson only adds to what is required, so no enrolment can become
    complete because of it: nothing is re-evaluated."""
    _require(session, actor, "course.edit", section.course)
    lesson = Lesson(course_id=section.course_id, position=len(section.lessons))
    _apply_lesson(session, lesson, data)
    section.lessons.append(lesson)
    session.flush()
    return lesson


def update_lesson(session: Session, actor: Actor, lesson: Lesson, data: LessonInput, now: datetime) -> Lesson:
    """Edit a lesson. Enrolments are re-evaluated (set-based) only when the lesson stopped being
    required, the one edit that can complete someone."""
    _require(session, actor, "course.edit", lesson.section.course)
    was_required = lesson.required
    _apply_lesson(session, lesson, data)
    session.flush()
    if was_required and not lesson.required:
        schedule_recompute(session, actor, lesson.section.course, now)
    return lesson


def delete_lesson(session: Session, actor: Actor, lesson: Lesson, now: datetime) -> None:
    section = lesson.section
    course = section.course
    _require(session, actor, "course.edit", course)
    _delete_files_after_commit(session, lesson.materials)
    marks = _forget_progress(session, [lesson.id])
    section.lessons.remove(lesson)
    session.delete(lesson)
    _renumber(section.lessons)
    session.flush()
    audit.record(session, actor, "course.lesson_delete", object_type="course", object_id=course.id,
                 summary=f"{course.title}: {lesson.title}", details={"progress_removed": marks})
    schedule_recompute(session, actor, course, now)


# -- materials ------------------------------------------------------------------------------

def _clean_filename(name: str | None) -> str:
    name = clean((name or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if ch.isprintable())
    return name[-200:] or "tep"


def add_file(session: Session, actor: Actor, lesson: Lesson, source: BinaryIO, filename: str,
             title: str | None = None) -> Material:
    """Validate ``source`` by content, store it under a generated key and record it.

    The file is spooled to a temporary file (removed whatever happens); if the database work
    fails afterwards the stored file is deleted when the transaction rolls back.
    """
    _require(session, actor, "course.edit", lesson.section.course)
    original = _clean_filename(filename)
    limit_mb = current_app.config["LMS_MAX_UPLOAD_MB"] if has_app_context() else 20
    video_mb = current_app.config["LMS_MAX_VIDEO_MB"] if has_app_context() else 500
    digest = hashlib.sha256()
    size = 0
    claimed = kind_for(original)
    # stop reading as soon as the body exceeds what the claimed kind may weigh
    ceiling_mb = (video_mb if claimed.video else limit_mb) if claimed else max(limit_mb, video_mb)
    try:
        with tempfile.TemporaryFile() as spool:
            while True:
                chunk = source.read(1024 * 1024)
                if not chunk:
                    break
                size += len(chunk)
                if size > ceiling_mb * 1024 * 1024:
                    raise ServiceError(_l("Tệp quá lớn: tối đa %(n)s MB cho loại tệp này.", n=ceiling_mb), "file")
                digest.update(chunk)
                spool.write(chunk)
            try:
                name, kind = classify(spool, original)
            except UploadRefused as exc:
                raise ServiceError(exc.message, "file") from None
            key = f"materials/{secrets.token_hex(2)}/{secrets.token_urlsafe(24)}.{kind.extensions[0]}"
            try:
                get_storage().put(key, spool, kind.mimetype)
            except StorageError:
                raise ServiceError(STORAGE_FAILED, "file") from None
    except OSError as exc:
        if not is_storage_full(exc):
            raise
        raise ServiceError(STORAGE_FAILED, "file") from None  # the temporary folder is full
    track_new(session, key)
    material = Material(kind=MaterialKind.FILE, title=_title(title or original.rsplit(".", 1)[0][:TITLE_MAX] or original,
                                                            "title"),
                        original_name=original, storage_key=key, size=size, checksum=digest.hexdigest(),
                        content_type=kind.mimetype, uploaded_by_id=actor.id, position=len(lesson.materials))
    lesson.materials.append(material)
    session.flush()
    audit.record(session, actor, "material.upload", object_type="material", object_id=material.id,
                 summary=f"{lesson.title}: {original}", details={"size": size, "type": kind.mimetype})
    return material


def add_link(session: Session, actor: Actor, lesson: Lesson, url: str, title: str) -> Material:
    _require(session, actor, "course.edit", lesson.section.course)
    url = clean(url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2000:
        raise ServiceError(_l("Đường dẫn phải bắt đầu bằng http:// hoặc https://."), "url")
    material = Material(kind=MaterialKind.LINK, title=_title(title), url=url, position=len(lesson.materials),
                        uploaded_by_id=actor.id)
    lesson.materials.append(material)
    session.flush()
    return material


def delete_material(session: Session, actor: Actor, material: Material) -> None:
    lesson = material.lesson
    _require(session, actor, "course.edit", lesson.section.course)
    _delete_files_after_commit(session, [material])
    lesson.materials.remove(material)
    session.delete(material)
    _renumber(lesson.materials)
    session.flush()
    audit.record(session, actor, "material.delete", object_type="material", object_id=material.id,
                 summary=material.title)


# -- enrolment ------------------------------------------------------------------------------

def _enrol_one(session: Session, course: Course, person_id: int, source: EnrolmentSource, due_on: date | None,
               actor: Actor, now: datetime) -> bool:
    """Enrol one person; False when already enrolled (a parallel enrolment loses quietly)."""
    result = _enrol_set(session, course, sa.select(sa.literal(person_id)), source, due_on, actor, now)
    return bool(result.added)


def _insert_ignoring_duplicates(session: Session, table: sa.Table, columns: list[str], rows: sa.Select) -> int:
    """``INSERT INTO table (columns) SELECT ...``, skipping rows a unique constraint refuses
    (someone enrolled the same person a moment ago). Returns how many rows were inserted (counted
    with RETURNING: drivers do not all report a row count for INSERT ... SELECT)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    # (SQLite needs a WHERE in the SELECT to tell its ON CONFLICT from a join's ON.)
    stmt = (insert(table).from_select(columns, rows.where(sa.true())).on_conflict_do_nothing()
            .returning(table.c[columns[1]]))
    return len(session.execute(stmt).all())


def _enrol_set(session: Session, course: Course, eligible: sa.Select, source: EnrolmentSource,
               due_on: date | None, actor: Actor, now: datetime) -> "EnrolResult":
    """Enrol every person id ``eligible`` selects, in three statements whatever their number:
    withdrawn enrolments come back, due dates of active ones move to ``due_on``, the rest are
    inserted. ``already`` is filled in by the caller."""
    ids = sa.select(eligible.subquery().c[0])
    back = affected_rows(session, session.execute(
        sa.update(Enrolment)
        .where(Enrolment.course_id == course.id, Enrolment.status == EnrolmentStatus.WITHDRAWN,
               Enrolment.person_id.in_(ids))
        .values(status=sa.case((Enrolment.completed_at.is_(None), EnrolmentStatus.ACTIVE.value),
                               else_=EnrolmentStatus.COMPLETED.value),
                withdrawn_at=None, due_on=sa.func.coalesce(due_on, Enrolment.due_on))
        .execution_options(synchronize_session=False)))
    if due_on is not None:
        session.execute(
            sa.update(Enrolment)
            .where(Enrolment.course_id == course.id, Enrolment.status == EnrolmentStatus.ACTIVE,
                   Enrolment.person_id.in_(ids))
            .values(due_on=due_on).execution_options(synchronize_session=False))
    person = ids.subquery()
    fresh = (sa.select(sa.literal(course.id), person.c[0], sa.literal(source.value),
                       sa.literal(EnrolmentStatus.ACTIVE.value), sa.literal(due_on, sa.Date),
                       sa.literal(now, Enrolment.__table__.c.enrolled_at.type), sa.literal(actor.id, sa.Integer))
             .where(~sa.exists().where(Enrolment.course_id == course.id, Enrolment.person_id == person.c[0])))
    added = _insert_ignoring_duplicates(
        session, Enrolment.__table__,
        ["course_id", "person_id", "source", "status", "due_on", "enrolled_at", "enrolled_by_id"], fresh)
    session.expire_all()
    return EnrolResult(added=added + back)


def self_enrol(session: Session, person: Person, course: Course, now: datetime) -> Enrolment:
    if course.status != CourseStatus.PUBLISHED or not course.self_enrol:
        raise ServiceError(_l("Khóa học này không cho phép tự đăng ký học."))
    _enrol_one(session, course, person.id, EnrolmentSource.SELF, None, person, now)
    session.flush()
    enrolment = session.scalar(sa.select(Enrolment).where(Enrolment.course_id == course.id,
                                                          Enrolment.person_id == person.id))
    evaluate(session, enrolment, now)
    return enrolment


@dataclass
class EnrolResult:
    added: int = 0
    already: int = 0
    refused: int = 0


#: How many ids a list of chosen people may hold (a whole unit is passed as a query instead).
MAX_ID_LIST = 20_000


def enrol_people(session: Session, actor: Actor, course: Course, people: Iterable[int] | sa.Select,
                 source: EnrolmentSource, due_on: date | None, now: datetime) -> EnrolResult:
    """Enrol ``people`` (ids, or a SELECT of ids such as :func:`people_for` gives) in ``course``.

    Set-based: a fixed number of statements whatever the number of people. A unit administrator
    who is not an editor of the course only enrols people currently in their subtree; locked
    accounts are never enrolled. Both are counted as ``refused``."""
    _require(session, actor, "course.enrol_others", course)
    if course.status == CourseStatus.ARCHIVED:
        raise ServiceError(_l("Khóa học đã lưu trữ, không ghi danh thêm được."))
    if isinstance(people, sa.Select):
        requested, asked = people, None
    else:
        ids = sorted(set(people))
        if len(ids) > MAX_ID_LIST:
            raise ServiceError(_l("Danh sách quá dài: mỗi lần ghi danh tối đa %(n)s người.", n=MAX_ID_LIST))
        requested, asked = sa.select(Person.id).where(Person.id.in_(ids)), len(ids)
    wanted = requested.subquery()
    eligible = sa.select(Person.id).where(Person.id.in_(sa.select(wanted.c[0])), Person.active.is_(True))
    if not permissions.can(session, actor, "course.edit", course):
        scope = permissions.managed_unit_ids(session, actor)
        if scope is not permissions.ALL:
            eligible = eligible.where(sa.exists().where(
                Membership.person_id == Person.id, Membership.valid_to.is_(None),
                Membership.unit_id.in_(sorted(scope)) if scope else sa.false()))
    counts = session.execute(sa.select(
        sa.select(sa.func.count(sa.distinct(wanted.c[0]))).scalar_subquery(),
        sa.select(sa.func.count()).select_from(eligible.subquery()).scalar_subquery())).one()
    result = _enrol_set(session, course, eligible, source, due_on, actor, now)
    result.refused = (int(counts[0]) if asked is None else asked) - int(counts[1])
    result.already = int(counts[1]) - result.added
    session.flush()
    audit.record(session, actor, "course.enrol", object_type="course", object_id=course.id,
                 summary=f"{course.title}: +{result.added}",
                 details={"source": source.value, "added": result.added, "already": result.already,
                          "refused": result.refused, "due_on": due_on.isoformat() if due_on else None})
    return result


def people_for(session: Session, actor: Actor, *, unit_id: int | None = None, title: TitleKind | None = None,
               employment_type: EmploymentType | None = None, key_cadres_only: bool = False,
               course: Course | None = None, on: date | None = None) -> sa.Select:
    """SELECT of the ids of active people (now) of a unit subtree, holding a title of legal
    dissemination on day ``on`` (default today), of an employment type, or key cadres, within
    ``actor``'s scope. With ``course``: an editor of that course may enrol anyone, so their scope
    is everyone."""
    stmt = (sa.select(Person.id).join(Membership, sa.and_(Membership.person_id == Person.id,
                                                           Membership.valid_to.is_(None)))
            .where(Person.active.is_(True)))
    if unit_id is not None:
        stmt = stmt.where(Membership.unit_id.in_(sa.select(subtree_cte([unit_id]).c.id)))
    if title is not None:
        stmt = stmt.where(Person.id.in_(title_holders_select(title, on or date.today())))
    if employment_type is not None:
        stmt = stmt.where(Person.employment_type == employment_type)
    if key_cadres_only:
        stmt = stmt.where(sa.exists().where(KeyCadrePeriod.person_id == Person.id, KeyCadrePeriod.valid_to.is_(None)))
    editor = course is not None and permissions.can(session, actor, "course.edit", course)
    scope = permissions.ALL if editor else permissions.managed_unit_ids(session, actor)
    if scope is not permissions.ALL:
        stmt = stmt.where(Membership.unit_id.in_(sorted(scope)) if scope else sa.false())
    return stmt


def withdraw(session: Session, actor: Actor, enrolment: Enrolment, now: datetime) -> bool:
    course = enrolment.course
    _require(session, actor, "course.enrol_others", course)
    if not permissions.can(session, actor, "course.edit", course) and not permissions.may_manage_person(
            session, actor, enrolment.person):
        raise PermissionDenied(_l("Bạn không có quyền quản lý người này."))
    if enrolment.status == EnrolmentStatus.WITHDRAWN:
        return False
    if enrolment.status == EnrolmentStatus.COMPLETED:
        raise ServiceError(_l("Người này đã hoàn thành khóa học; không rút tên được."))
    enrolment.status = EnrolmentStatus.WITHDRAWN
    enrolment.withdrawn_at = now
    session.flush()
    audit.record(session, actor, "course.withdraw", object_type="course", object_id=course.id,
                 summary=f"{course.title}: {enrolment.person.full_name}")
    return True


# -- progress and completion ----------------------------------------------------------------

def lesson_ids(session: Session, course_id: int) -> tuple[list[int], list[int]]:
    rows = session.execute(sa.select(Lesson.id, Lesson.required).where(Lesson.course_id == course_id)).all()
    return [i for i, _ in rows], [i for i, required in rows if required]


def progress_for(session: Session, enrolment: Enrolment, *, lessons: Iterable[tuple[int, bool]] | None = None,
                 done: Iterable[int] | None = None) -> completion.Progress:
    """An enrolment's progress. A page that already read the course's lessons (``(id, required)``)
    and the person's done lessons passes them, so nothing is read twice."""
    if lessons is None:
        all_ids, required = lesson_ids(session, enrolment.course_id)
    else:
        pairs = list(lessons)
        all_ids, required = [i for i, _ in pairs], [i for i, needed in pairs if needed]
    if done is None:
        done = session.scalars(sa.select(LessonProgress.lesson_id).where(
            LessonProgress.course_id == enrolment.course_id, LessonProgress.person_id == enrolment.person_id))
    return completion.progress_of(required, all_ids, done, extra_requirements(session, enrolment))


def extra_requirements(session: Session, enrolment: Enrolment) -> list[completion.RequirementResult]:
    """What other packages require besides the lessons (quizzes: "required quiz passed")."""
    extra = []
    if has_app_context():
        for requirement in current_app.extensions.get("course_requirements", []):
            result = requirement(session, enrolment)
            if result is not None:
                extra.append(result)
    return extra


def evaluate(session: Session, enrolment: Enrolment, now: datetime) -> bool:
    """Record completion if the rule now holds (once). Returns True when it was just recorded."""
    if enrolment.status != EnrolmentStatus.ACTIVE or enrolment.completed_at is not None:
        return False
    progress = progress_for(session, enrolment)
    when = completion.completion_time(None, progress.complete, now)
    if when is None:
        return False
    enrolment.completed_at = when
    enrolment.status = EnrolmentStatus.COMPLETED
    session.flush()
    course_completed.send(current_app._get_current_object() if has_app_context() else None,
                          session=session, enrolment=enrolment, now=now)
    return True


def schedule_recompute(session: Session, actor: Actor, course: Course, now: datetime) -> None:
    """Re-evaluate the course's enrolments in a background job once this transaction commits
    (a course may have tens of thousands of learners); completions are dated ``now``, the time
    of the change."""
    jobs.submit(session, actor, "courses.recompute",
                {"course_id": course.id, "course_title": course.title, "now": now.isoformat()})


def recompute_course(session: Session, course: Course, now: datetime) -> int:
    """Re-evaluate the active enrolments after the requirements were loosened (a required lesson
    deleted or made optional); completions already recorded stay as they are. Set-based: the
    enrolments whose required lessons are all done are found and completed in a fixed number of
    statements; requirements registered by other packages are then asked only about those.
    Returns how many were newly completed."""
    required_total = session.scalar(sa.select(sa.func.count()).select_from(Lesson).where(
        Lesson.course_id == course.id, Lesson.required.is_(True))) or 0
    extras = current_app.extensions.get("course_requirements", []) if has_app_context() else []
    if not required_total and not extras:
        return 0  # nothing to complete (completion.is_complete)
    done_required = (sa.select(sa.func.count(LessonProgress.id))
                     .join(Lesson, Lesson.id == LessonProgress.lesson_id)
                     .where(LessonProgress.person_id == Enrolment.person_id, Lesson.course_id == course.id,
                            Lesson.required.is_(True))
                     .scalar_subquery())
    candidates = (sa.select(Enrolment.id)
                  .where(Enrolment.course_id == course.id, Enrolment.status == EnrolmentStatus.ACTIVE,
                         Enrolment.completed_at.is_(None), done_required >= required_total))
    if extras:
        count = 0
        for enrolment in session.scalars(sa.select(Enrolment).where(Enrolment.id.in_(candidates))):
            count += evaluate(session, enrolment, now)
        return count
    ids = list(session.scalars(candidates))
    if not ids:
        return 0
    session.execute(sa.update(Enrolment).where(Enrolment.id.in_(candidates))
                    .values(status=EnrolmentStatus.COMPLETED, completed_at=now)
                    .execution_options(synchronize_session=False))
    session.expire_all()
    sender = current_app._get_current_object() if has_app_context() else None
    for start in range(0, len(ids), 1000):
        for enrolment in session.scalars(sa.select(Enrolment).where(Enrolment.id.in_(ids[start:start + 1000]))):
            course_completed.send(sender, session=session, enrolment=enrolment, now=now)
    return len(ids)


def mark_done(session: Session, person: Person, lesson: Lesson, now: datetime) -> bool:
    """The person marks a lesson done; returns True when this completed the course."""
    course = lesson.section.course
    if not permissions.can(session, person, "course.learn", course):
        raise PermissionDenied(_l("Bạn chưa đăng ký học khóa học này."))
    enrolment = session.scalar(sa.select(Enrolment).where(Enrolment.course_id == course.id,
                                                          Enrolment.person_id == person.id))
    exists = session.scalar(sa.select(LessonProgress.id).where(LessonProgress.lesson_id == lesson.id,
                                                               LessonProgress.person_id == person.id))
    if exists is None:
        try:
            with session.begin_nested():
                session.add(LessonProgress(lesson_id=lesson.id, person_id=person.id, course_id=course.id,
                                           completed_at=now))
        except IntegrityError:
            pass
    if enrolment is None:
        return False
    return evaluate(session, enrolment, now)


def mark_not_done(session: Session, person: Person, lesson: Lesson) -> None:
    session.execute(sa.delete(LessonProgress).where(LessonProgress.lesson_id == lesson.id,
                                                    LessonProgress.person_id == person.id))
    session.flush()


# -- reference data -------------------------------------------------------------------------

def update_convention(session: Session, actor: Actor, convention: Convention, *, name_vi: str, name_en: str,
                      adopted_year: int, adopted_on: date | None, vn_party_year: int, vn_party_on: date | None) -> None:
    if not permissions.is_admin(actor):
        raise PermissionDenied(_l("Chỉ quản trị hệ thống được sửa danh mục."))
    name_vi, name_en = clean(name_vi), clean(name_en)
    if not name_vi or not name_en:
        raise ServiceError(_l("Vui lòng nhập tên."), "name_vi" if not name_vi else "name_en")
    if adopted_on and adopted_on.year != adopted_year:
        raise ServiceError(_l("Ngày thông qua không khớp với năm."), "adopted_on")
    if vn_party_on and vn_party_on.year != vn_party_year:
        raise ServiceError(_l("Ngày trở thành thành viên không khớp với năm."), "vn_party_on")
    if vn_party_year < adopted_year:
        raise ServiceError(_l("Việt Nam không thể trở thành thành viên trước khi công ước được thông qua."),
                           "vn_party_year")
    before = {"name_vi": convention.name_vi, "adopted_year": convention.adopted_year,
              "vn_party_year": convention.vn_party_year}
    convention.name_vi, convention.name_en = name_vi, name_en
    convention.adopted_year, convention.adopted_on = adopted_year, adopted_on
    convention.vn_party_year, convention.vn_party_on = vn_party_year, vn_party_on
    session.flush()
    audit.record(session, actor, "reference.convention", object_type="convention", object_id=convention.id,
                 summary=convention.code, details={"before": before})


def update_content(session: Session, actor: Actor, content: ContentArea, *, name_vi: str, name_en: str,
                   short_vi: str, short_en: str) -> None:
    """The full wording (as in the plan) and the short label shown in lists, filters and tags."""
    if not permissions.is_admin(actor):
        raise PermissionDenied(_l("Chỉ quản trị hệ thống được sửa danh mục."))
    values = {"name_vi": clean(name_vi), "name_en": clean(name_en), "short_vi": clean(short_vi),
              "short_en": clean(short_en)}
    for field_name, value in values.items():
        if not value:
            raise ServiceError(_l("Vui lòng nhập tên.") if field_name.startswith("name")
                               else _l("Vui lòng nhập tên ngắn."), field_name)
    for field_name, limit in (("name_vi", 1000), ("name_en", 1000), ("short_vi", 120), ("short_en", 120)):
        if len(values[field_name]) > limit:
            raise ServiceError(_l("Tên không được dài quá %(n)s ký tự.", n=limit), field_name)
    for field_name, value in values.items():
        setattr(content, field_name, value)
    session.flush()
    audit.record(session, actor, "reference.content", object_type="content", object_id=content.id,
                 summary=str(content.number))
