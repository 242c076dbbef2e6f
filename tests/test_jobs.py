"""Background jobs: queued after the commit, run once, as the person who asked, all-or-nothing,
followed on a page only that person (and administrators) can see; a real worker on huey's SQLite
storage runs them too."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from lms import jobs
from lms.actors import SYSTEM
from lms.db import db
from lms.errors import ServiceError
from lms.models import Job, JobStatus, Unit
from lms.services import units as unit_service
from tests.conftest import START, count_rows


@jobs.kind("test.make_unit", title=lambda job: "Tạo đơn vị thử")
def _make_unit(ctx: jobs.Context) -> dict:
    ctx.progress.start(2)
    unit_service.create_unit(ctx.session, ctx.actor, name="Đơn vị từ tác vụ", code=ctx.params["code"],
                             kind="division", parent=None, on=START)
    ctx.progress.advance()
    if ctx.params.get("fail"):
        raise ServiceError("Dừng có chủ ý (thử nghiệm).")
    if ctx.params.get("crash"):
        raise RuntimeError("boom")
    ctx.progress.advance()
    return {"created": 1, "seen_secret": ctx.params.get("_secret")}


def test_a_job_is_sent_only_when_its_transaction_commits(app, make_person):
    admin = make_person(roles=("admin",))
    job = jobs.submit(db.session, admin, "test.make_unit", {"code": "JOB1", "_secret": "s3cr3t"})
    db.session.rollback()  # the request failed: nothing is queued, nothing runs
    assert count_rows(Job) == 0 and db.session.scalar(sa.select(Unit).where(Unit.code == "JOB1")) is None
    job = jobs.submit(db.session, admin, "test.make_unit", {"code": "JOB1", "_secret": "s3cr3t"})
    db.session.commit()  # immediate mode in the tests: it has run now, in a context of its own
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.status == JobStatus.DONE and job.result == {"created": 1, "seen_secret": "s3cr3t"}
    assert "_secret" not in job.params  # secrets are used once, never kept
    assert (job.progress_done, job.progress_total) == (2, 2)
    unit = db.session.scalar(sa.select(Unit).where(Unit.code == "JOB1"))
    assert unit is not None
    from lms.models import AuditEntry

    assert db.session.scalar(sa.select(AuditEntry.actor_id).where(AuditEntry.action == "unit.create",
                                                                  AuditEntry.object_id == unit.id)) == admin.id


@pytest.mark.parametrize("params, message", [
    ({"code": "JOB2", "fail": True}, "Dừng có chủ ý (thử nghiệm)."),
    ({"code": "JOB2", "crash": True}, "Tác vụ gặp lỗi hệ thống"),
])
def test_a_failing_job_reports_why_and_leaves_nothing_half_written(app, make_person, params, message):
    admin = make_person(roles=("admin",))
    job = jobs.submit(db.session, admin, "test.make_unit", {**params, "_secret": "x"})
    db.session.commit()
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.status == JobStatus.FAILED and message in job.errors[0]
    assert "_secret" not in job.params
    assert db.session.scalar(sa.select(Unit).where(Unit.code == "JOB2")) is None


def test_a_job_runs_only_once(app, make_person):
    admin = make_person(roles=("admin",))
    job = jobs.submit(db.session, admin, "test.make_unit", {"code": "JOB3"})
    db.session.commit()
    jobs.execute(app, job.id)  # a second delivery of the same job does nothing
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Unit).where(Unit.code.like("JOB3%"))) == 1


def test_a_job_of_a_locked_account_does_not_run(app, make_person):
    admin = make_person(roles=("admin",))
    db.session.add(Job(kind="test.make_unit", actor_id=admin.id, params={"code": "JOB4"}, status=JobStatus.QUEUED))
    admin.active = False
    db.session.commit()
    job = db.session.scalar(sa.select(Job))
    jobs.execute(app, job.id)
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == JobStatus.FAILED
    assert db.session.scalar(sa.select(Unit).where(Unit.code == "JOB4")) is None


def test_the_job_page_is_for_its_owner_and_administrators(app, make_person):
    owner = make_person(email="owner@example.vn", roles=("unit_admin",))
    stranger = make_person(email="stranger@example.vn", roles=("unit_admin",))
    admin = make_person(email="admin@example.vn", roles=("admin",))
    job = Job(kind="test.make_unit", actor_id=owner.id, params={}, status=JobStatus.RUNNING, progress_total=10)
    db.session.add(job)
    db.session.commit()

    def client_for(person):
        client = app.test_client()
        client.post("/login", data={"email": person.email, "password": "Rất-Khó-Đoán-2028!"})
        return client

    page = client_for(owner).get(f"/jobs/{job.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Đang xử lý" in html and 'src="/static/js/jobs.js"' in html
    assert "<script>" not in html  # no inline script: the CSP stays strict
    status = client_for(owner).get(f"/jobs/{job.id}/status.json").get_json()
    assert status == {"status": "running", "done": 0, "total": 10, "percent": 0, "finished": False}
    assert client_for(stranger).get(f"/jobs/{job.id}").status_code == 404
    assert client_for(stranger).get(f"/jobs/{job.id}/status.json").status_code == 404
    assert client_for(admin).get(f"/jobs/{job.id}").status_code == 200
    assert client_for(owner).get(f"/jobs/{job.id}/file").status_code == 404  # nothing produced
    for junk in ("/jobs/0", "/jobs/999999", "/jobs/abc", "/jobs/99999999999999"):
        assert client_for(owner).get(junk).status_code == 404


def test_a_real_worker_runs_queued_jobs_from_sqlite_storage(app_factory, make_person, tmp_path):
    """Outside the tests' immediate mode: huey's SQLite queue and a consumer thread, as
    ``flask lms worker`` runs them."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("one run is enough; the queue storage does not depend on the database")
    worker_app = app_factory(LMS_JOBS="sqlite", LMS_JOBS_PATH=str(tmp_path / "jobs.sqlite3"))
    with worker_app.app_context():
        admin = make_person(email="worker-admin@example.vn", roles=("admin",))
        job = jobs.submit(db.session, admin, "test.make_unit", {"code": "JOB5"})
        db.session.commit()
        job_id = job.id
        assert db.session.get(Job, job_id).status == JobStatus.QUEUED  # queued, not run
        consumer = jobs.queue().create_consumer(workers=1, worker_type="thread", periodic=False,
                                                check_worker_health=False)
        consumer.start()  # worker threads; ``run()`` would also install signal handlers
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                db.session.expire_all()
                if db.session.get(Job, job_id).status == JobStatus.DONE:
                    break
                time.sleep(0.2)
        finally:
            consumer.stop(graceful=True)
        assert db.session.get(Job, job_id).status == JobStatus.DONE
        assert db.session.scalar(sa.select(Unit).where(Unit.code == "JOB5")) is not None


def test_the_worker_command_refuses_immediate_mode(runner):
    result = runner.invoke(args=["lms", "worker"])
    assert result.exit_code != 0 and "no worker is needed" in result.output


def test_system_jobs_run_as_the_system(app):
    job = jobs.submit(db.session, SYSTEM, "test.make_unit", {"code": "JOB6"})
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == JobStatus.DONE and db.session.get(Job, job.id).actor_id is None


def test_gunicorn_refuses_several_production_workers_without_redis(monkeypatch):
    """Rate-limit counters would be per process: the server does not start (gunicorn.conf.py)."""
    import importlib.util
    from pathlib import Path
    from types import SimpleNamespace

    spec = importlib.util.spec_from_file_location("gunicorn_conf", Path(__file__).parent.parent / "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    logged = []
    server = SimpleNamespace(cfg=SimpleNamespace(workers=2), log=SimpleNamespace(error=logged.append))
    monkeypatch.setenv("LMS_ENV", "production")
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(SystemExit):
        conf.on_starting(server)
    assert "REDIS_URL" in logged[0]
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    conf.on_starting(server)  # with Redis: fine
    monkeypatch.delenv("REDIS_URL")
    conf.on_starting(SimpleNamespace(cfg=SimpleNamespace(workers=1), log=server.log))  # one worker: fine


@jobs.kind("test.database_error", title=lambda job: "Lỗi cơ sở dữ liệu thử")
def _database_error(ctx: jobs.Context) -> dict:
    unit_service.create_unit(ctx.session, ctx.actor, name="Đơn vị A", code="DUP1", kind="division", parent=None,
                             on=START)
    ctx.session.execute(sa.text("INSERT INTO units (name, code, kind, position, established_on, active, "
                                "search_text, created_at) VALUES ('B', 'DUP1', 'division', 0, '2024-01-01', 1, '', "
                                "'2024-01-01 00:00:00')"))  # the same code: the database refuses
    return {}


def test_a_database_error_inside_a_job_is_recorded_and_drops_the_secrets(app, make_person):
    admin = make_person(roles=("admin",))
    job = jobs.submit(db.session, admin, "test.database_error", {"_password_hash": "$argon2id$secret"})
    db.session.commit()
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.status == JobStatus.FAILED and "Tác vụ gặp lỗi hệ thống" in job.errors[0]
    assert "_password_hash" not in job.params
    assert db.session.scalar(sa.select(Unit).where(Unit.code == "DUP1")) is None


def test_stale_jobs_are_failed_and_forget_their_secrets(app, make_person):
    from datetime import timedelta

    from lms.db import utcnow

    admin = make_person(roles=("admin",))
    old = Job(kind="test.make_unit", actor_id=admin.id, status=JobStatus.RUNNING,
              params={"code": "X", "_password_hash": "h"}, created_at=utcnow() - timedelta(days=1))
    db.session.add(old)
    db.session.commit()
    jobs.submit(db.session, admin, "test.make_unit", {"code": "JOB7"})
    db.session.commit()
    db.session.expire_all()
    old = db.session.get(Job, old.id)
    assert old.status == JobStatus.FAILED and old.params == {"code": "X"}


def test_a_job_whose_person_is_gone_never_runs_as_the_system(app):
    job = Job(kind="test.make_unit", actor_id=None, status=JobStatus.QUEUED, params={"code": "JOB8"})
    db.session.add(job)
    db.session.commit()
    jobs.execute(app, job.id)
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == JobStatus.FAILED
    assert db.session.scalar(sa.select(Unit).where(Unit.code == "JOB8")) is None
