"""Write operations of the courses feature. Each takes the session and the acting person,
checks permission through :mod:`lms.permissions`, flushes and never commits."""

from __future__ import annotations

import hashlib
import secrets
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import BinaryIO, Iterable
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from courses import completion
from courses.models import (Audience, ContentArea, Convention, Course, CourseAudience, CourseStatus, CourseTrainer,
                            Enrolment, EnrolmentSource, EnrolmentStatus, Lesson, LessonProgress, Material,
                            MaterialKind, Section)
from courses.text import render
from courses.uploads import UploadRefused, classify, kind_for
from lms import audit, permissions
from lms.errors import PermissionDenied, ServiceError
from lms.i18n import lazy_gettext as _l
from lms.models import KeyCadrePeriod, LearnerCategory, Membership, Person, Role
from lms.services.units import subtree_cte
from lms.signals import course_completed
from lms.storage import StorageError, get_storage, track_new, delete_after_commit
from lms.text import clean, fold

TITLE_MAX = 255
SUMMARY_MAX = 1000


# -- helpers --------------------------------------------------------------------------------

def _require(session: Session, actor: Person | None, action: str, obj=None, message=None) -> None:
    if actor is not None and not permissions.can(session, actor, action, obj):
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


def create_course(session: Session, actor: Person, data: CourseInput) -> Course:
    _require(session, actor, "course.create", message=_l("Chỉ giảng viên và quản trị viên được tạo khóa học."))
    course = Course(owner_id=actor.id, status=CourseStatus.DRAFT)
    _apply_course(session, course, data)
    session.add(course)
    session.flush()
    audit.record(session, actor, "course.create", object_type="course", object_id=course.id, summary=course.title)
    return course


def update_course(session: Session, actor: Person, course: Course, data: CourseInput) -> Course:
    _require(session, actor, "course.edit", course)
    _apply_course(session, course, data)
    session.flush()
    audit.record(session, actor, "course.update", object_type="course", object_id=course.id, summary=course.title)
    return course


def set_status(session: Session, actor: Person, course: Course, status: CourseStatus | str, now: datetime) -> Course:
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


def add_co_trainer(session: Session, actor: Person, course: Course, person: Person) -> bool:
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


def remove_co_trainer(session: Session, actor: Person, course: Course, person_id: int) -> bool:
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

def add_section(session: Session, actor: Person, course: Course, title: str) -> Section:
    _require(session, actor, "course.edit", course)
    section = Section(title=_title(title), position=len(course.sections))
    course.sections.append(section)
    session.flush()
    return section


def rename_section(session: Session, actor: Person, section: Section, title: str) -> Section:
    _require(session, actor, "course.edit", section.course)
    section.title = _title(title)
    session.flush()
    return section


def delete_section(session: Session, actor: Person, section: Section, now: datetime) -> None:
    course = section.course
    _require(session, actor, "course.edit", course)
    for lesson in section.lessons:
        _delete_files_after_commit(session, lesson.materials)
    course.sections.remove(section)
    session.delete(section)
    _renumber(course.sections)
    session.flush()
    recompute_course(session, course, now)


def _delete_files_after_commit(session: Session, materials: Iterable[Material]) -> None:
    """The stored files of ``materials`` go once their rows are gone for good."""
    for material in materials:
        if material.storage_key:
            delete_after_commit(session, material.storage_key)


def _renumber(items) -> None:
    for position, item in enumerate(items):
        item.position = position


def move(session: Session, actor: Person, item: Section | Lesson, direction: int) -> None:
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


def add_lesson(session: Session, actor: Person, section: Section, data: LessonInput, now: datetime) -> Lesson:
    _require(session, actor, "course.edit", section.course)
    lesson = Lesson(course_id=section.course_id, position=len(section.lessons))
    _apply_lesson(session, lesson, data)
    section.lessons.append(lesson)
    session.flush()
    recompute_course(session, section.course, now)
    return lesson


def update_lesson(session: Session, actor: Person, lesson: Lesson, data: LessonInput, now: datetime) -> Lesson:
    _require(session, actor, "course.edit", lesson.section.course)
    _apply_lesson(session, lesson, data)
    session.flush()
    recompute_course(session, lesson.section.course, now)
    return lesson


def delete_lesson(session: Session, actor: Person, lesson: Lesson, now: datetime) -> None:
    section = lesson.section
    _require(session, actor, "course.edit", section.course)
    _delete_files_after_commit(session, lesson.materials)
    section.lessons.remove(lesson)
    session.delete(lesson)
    _renumber(section.lessons)
    session.flush()
    recompute_course(session, section.course, now)


# -- materials ------------------------------------------------------------------------------

def _clean_filename(name: str | None) -> str:
    name = clean((name or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if ch.isprintable())
    return name[-200:] or "tep"


def add_file(session: Session, actor: Person, lesson: Lesson, source: BinaryIO, filename: str,
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
            raise ServiceError(_l("Không lưu được tệp (bộ nhớ đầy hoặc lỗi lưu trữ). Vui lòng thử lại sau "
                                  "hoặc báo quản trị viên."), "file") from None
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


def add_link(session: Session, actor: Person, lesson: Lesson, url: str, title: str) -> Material:
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


def delete_material(session: Session, actor: Person, material: Material) -> None:
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
               actor: Person | None, now: datetime) -> bool:
    """Enrol one person; False when already enrolled (a parallel enrolment loses quietly)."""
    existing = session.scalar(sa.select(Enrolment).where(Enrolment.course_id == course.id,
                                                         Enrolment.person_id == person_id))
    if existing is not None:
        if existing.status == EnrolmentStatus.WITHDRAWN:
            existing.status = EnrolmentStatus.COMPLETED if existing.completed_at else EnrolmentStatus.ACTIVE
            existing.withdrawn_at = None
            existing.due_on = due_on or existing.due_on
            return True
        if due_on and existing.status == EnrolmentStatus.ACTIVE:
            existing.due_on = due_on
        return False
    try:
        with session.begin_nested():
            session.add(Enrolment(course_id=course.id, person_id=person_id, source=source, due_on=due_on,
                                  enrolled_at=now, enrolled_by_id=actor.id if actor else None))
    except IntegrityError:
        return False  # someone else enrolled them a moment ago: one enrolment, as it must be
    return True


def self_enrol(session: Session, person: Person, course: Course, now: datetime) -> Enrolment:
    if course.status != CourseStatus.PUBLISHED or not course.self_enrol:
        raise ServiceError(_l("Khóa học này không cho phép tự đăng ký."))
    _enrol_one(session, course, person.id, EnrolmentSource.SELF, None, None, now)
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


def enrol_people(session: Session, actor: Person, course: Course, person_ids: Iterable[int],
                 source: EnrolmentSource, due_on: date | None, now: datetime) -> EnrolResult:
    """Enrol the given people; unit administrators may only enrol people in their subtree."""
    _require(session, actor, "course.enrol_others", course)
    if course.status == CourseStatus.ARCHIVED:
        raise ServiceError(_l("Khóa học đã lưu trữ, không ghi danh thêm được."))
    ids = sorted(set(person_ids))
    allowed = set(ids)
    editor = permissions.can(session, actor, "course.edit", course)
    if not editor:
        scope = permissions.managed_unit_ids(session, actor)
        if scope is not permissions.ALL:
            allowed = set(session.scalars(sa.select(Membership.person_id).where(
                Membership.person_id.in_(ids), Membership.valid_to.is_(None),
                Membership.unit_id.in_(sorted(scope)))))
    active = set(session.scalars(sa.select(Person.id).where(Person.id.in_(sorted(allowed)), Person.active.is_(True))))
    result = EnrolResult(refused=len(ids) - len(active))
    for person_id in sorted(active):
        if _enrol_one(session, course, person_id, source, due_on, actor, now):
            result.added += 1
        else:
            result.already += 1
    session.flush()
    audit.record(session, actor, "course.enrol", object_type="course", object_id=course.id,
                 summary=f"{course.title}: +{result.added}",
                 details={"source": source.value, "added": result.added, "already": result.already,
                          "refused": result.refused, "due_on": due_on.isoformat() if due_on else None})
    return result


def people_for(session: Session, actor: Person, *, unit_id: int | None = None,
               category: LearnerCategory | None = None, key_cadres_only: bool = False,
               course: Course | None = None) -> list[int]:
    """Active people (now) of a unit subtree / category / key cadres, within ``actor``'s scope.

    With ``course``: an editor of that course may enrol anyone, so their scope is everyone."""
    stmt = (sa.select(Person.id).join(Membership, sa.and_(Membership.person_id == Person.id,
                                                           Membership.valid_to.is_(None)))
            .where(Person.active.is_(True)))
    if unit_id is not None:
        stmt = stmt.where(Membership.unit_id.in_(sa.select(subtree_cte([unit_id]).c.id)))
    if category is not None:
        stmt = stmt.where(Person.category == category)
    if key_cadres_only:
        stmt = stmt.where(sa.exists().where(KeyCadrePeriod.person_id == Person.id, KeyCadrePeriod.valid_to.is_(None)))
    editor = course is not None and permissions.can(session, actor, "course.edit", course)
    scope = permissions.ALL if editor else permissions.managed_unit_ids(session, actor)
    if scope is not permissions.ALL:
        stmt = stmt.where(Membership.unit_id.in_(sorted(scope)) if scope else sa.false())
    return list(session.scalars(stmt))


def withdraw(session: Session, actor: Person, enrolment: Enrolment, now: datetime) -> bool:
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


def progress_for(session: Session, enrolment: Enrolment) -> completion.Progress:
    all_ids, required = lesson_ids(session, enrolment.course_id)
    done = session.scalars(sa.select(LessonProgress.lesson_id).where(
        LessonProgress.course_id == enrolment.course_id, LessonProgress.person_id == enrolment.person_id))
    extra = []
    if has_app_context():
        for requirement in current_app.extensions.get("course_requirements", []):
            result = requirement(session, enrolment)
            if result is not None:
                extra.append(result)
    return completion.progress_of(required, all_ids, done, extra)


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


def recompute_course(session: Session, course: Course, now: datetime) -> int:
    """Re-evaluate every active enrolment after the requirements changed; completions already
    recorded stay as they are. Returns how many were newly completed."""
    count = 0
    for enrolment in session.scalars(sa.select(Enrolment).where(Enrolment.course_id == course.id,
                                                                Enrolment.status == EnrolmentStatus.ACTIVE)):
        count += evaluate(session, enrolment, now)
    return count


def mark_done(session: Session, person: Person, lesson: Lesson, now: datetime) -> bool:
    """The person marks a lesson done; returns True when this completed the course."""
    course = lesson.section.course
    if not permissions.can(session, person, "course.learn", course):
        raise PermissionDenied(_l("Bạn chưa ghi danh khóa học này."))
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

def update_convention(session: Session, actor: Person | None, convention: Convention, *, name_vi: str, name_en: str,
                      adopted_year: int, adopted_on: date | None, vn_party_year: int, vn_party_on: date | None) -> None:
    if actor is not None and not permissions.is_admin(actor):
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


def update_content(session: Session, actor: Person | None, content: ContentArea, *, name_vi: str, name_en: str) -> None:
    if actor is not None and not permissions.is_admin(actor):
        raise PermissionDenied(_l("Chỉ quản trị hệ thống được sửa danh mục."))
    name_vi, name_en = clean(name_vi), clean(name_en)
    if not name_vi or not name_en:
        raise ServiceError(_l("Vui lòng nhập tên."), "name_vi" if not name_vi else "name_en")
    content.name_vi, content.name_en = name_vi, name_en
    session.flush()
    audit.record(session, actor, "reference.content", object_type="content", object_id=content.id,
                 summary=str(content.number))
