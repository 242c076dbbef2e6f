"""People list, search and the dated key-cadre query on a large province."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from datetime import date

os.environ.setdefault("LMS_ENV", "testing")


def main() -> None:
    from flask_migrate import upgrade

    from bench.generate import generate
    from lms import create_app
    from lms.db import db
    from lms.tree import key_cadres_on

    people = int(os.environ.get("BENCH_PEOPLE", "20000"))
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    app = create_app(test_config={"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False,
                                  "RATELIMIT_ENABLED": False, "ARGON2_TIME_COST": 2, "ARGON2_MEMORY_KIB": 19456})
    with app.app_context():
        upgrade()
        t0 = time.perf_counter()
        province, ids = generate(db.session, people=people)
        db.session.commit()
        print(f"generated {people} people in {time.perf_counter() - t0:.1f} s on {db.engine.dialect.name}")
        admin_id = ids[0]
        db.session.execute(db.text("INSERT INTO role_assignments (person_id, role, granted_at) "
                                   "VALUES (:p, 'admin', CURRENT_TIMESTAMP)"), {"p": admin_id})
        db.session.commit()
        client = app.test_client()
        client.get("/login")  # warm up templates and catalogues
        t0 = time.perf_counter()
        client.post("/login", data={"email": "bench0@example.vn", "password": "Benchmark-Password-2028"})
        print(f"log-in (argon2, production cost): {(time.perf_counter() - t0) * 1000:.0f} ms")

        def timed(label, fn, runs=15):
            samples = []
            for _ in range(runs):
                t = time.perf_counter()
                fn()
                samples.append((time.perf_counter() - t) * 1000)
            print(f"{label:<48} median {statistics.median(samples):7.1f} ms   max {max(samples):7.1f} ms")

        timed("people list page 1", lambda: client.get("/admin/people/"))
        timed("people list page 200", lambda: client.get("/admin/people/?page=200"))
        timed("search 'nguyen van an'", lambda: client.get("/admin/people/?q=nguyen+van+an"))
        timed("filter key cadres in a district subtree",
              lambda: client.get(f"/admin/people/?key=1&unit={province.id + 1}"))
        timed("key_cadres_on(province, today)", lambda: key_cadres_on(db.session, province.id, date.today()), runs=5)
        count = len(key_cadres_on(db.session, province.id, date.today()))
        print(f"key cadres in the province today: {count}")


if __name__ == "__main__":
    main()
