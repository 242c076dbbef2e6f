"""Roster import of many new people with production argon2 cost: check (preview) and apply."""

from __future__ import annotations

import csv
import io
import os
import tempfile
import time
from datetime import date

from lms.actors import SYSTEM

os.environ.setdefault("LMS_ENV", "testing")


def main() -> None:
    from flask_migrate import upgrade

    from lms import create_app
    from lms.db import db
    from lms.services import roster
    from lms.services.units import create_unit

    rows = int(os.environ.get("BENCH_ROWS", "2000"))
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    app = create_app(test_config={"SQLALCHEMY_DATABASE_URI": url, "ARGON2_TIME_COST": 2, "ARGON2_MEMORY_KIB": 19456})
    with app.app_context():
        upgrade()
        create_unit(db.session, SYSTEM, name="Sở Tư pháp", code="STP", kind="department", parent=None,
                    on=date(2024, 1, 1))
        db.session.commit()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["Họ và tên", "Thư điện tử", "Mã đơn vị", "Cán bộ chủ chốt"])
        for i in range(rows):
            writer.writerow([f"Nguyễn Văn Người {chr(65 + i % 26)}", f"r{i}@example.vn", "STP", "Có" if i % 5 else "Không"])
        content = out.getvalue().encode()
        t0 = time.perf_counter()
        preview = roster.check(db.session, SYSTEM, content, "roster.csv", today=date(2025, 1, 1))
        t1 = time.perf_counter()
        assert preview.ok, preview
        roster.apply(db.session, SYSTEM, content, "roster.csv", password="Mật-Khẩu-Ban-Đầu-2028", today=date(2025, 1, 1))
        db.session.commit()
        t2 = time.perf_counter()
        print(f"{rows} new people on {db.engine.dialect.name}: preview {t1 - t0:.1f} s, apply {t2 - t1:.1f} s "
              f"({(t2 - t1) / rows * 1000:.1f} ms per person)")


if __name__ == "__main__":
    main()
