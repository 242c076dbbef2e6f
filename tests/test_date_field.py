"""Dates are typed as ngày/tháng/năm (dd/mm/yyyy), with a message that says so; ISO dates
(tests, scripts, old bookmarks) still work."""

from __future__ import annotations

from datetime import date

import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms.validators import InputRequired, Optional

from lms.forms import VNDateField, parse_vn_date

MESSAGE = "Ngày phải ghi theo dạng ngày/tháng/năm, ví dụ 05/03/2026."


class _Form(FlaskForm):
    class Meta:
        csrf = False

    on = VNDateField("Ngày", validators=[InputRequired(message="Vui lòng nhập ngày.")])
    until = VNDateField("Đến ngày", validators=[Optional()])


def _form(app, **data):
    with app.test_request_context("/", method="POST", data=data):
        form = _Form(formdata=MultiDict(data))
        return form, form.validate(), form.on(), form.until()


@pytest.mark.parametrize("typed", ["05/03/2026", "5/3/2026", "05-03-2026", "05.03.2026", "2026-03-05",
                                   " 5/3/2026 ", "5-3-2026"])
def test_accepted_forms(typed):
    assert parse_vn_date(typed) == date(2026, 3, 5)


@pytest.mark.parametrize("typed", ["31/02/2026", "29/02/2025", "32/01/2026", "05/13/2026", "2026-02-30",
                                   "05/03-2026", "2026/03/05", "05/03/26", "5 3 2026", "hôm nay", "",
                                   "٠٥/٠٣/٢٠٢٦", "<script>"])
def test_refused_forms(typed):
    assert parse_vn_date(typed) is None


def test_field_reads_day_month_year_and_shows_it_back(app):
    form, valid, on, until = _form(app, on="5/3/2026", until="")
    assert valid and form.on.data == date(2026, 3, 5) and form.until.data is None
    assert 'type="text"' in on and 'placeholder="dd/mm/yyyy"' in on and 'inputmode="numeric"' in on
    assert 'type="date"' not in on
    with app.test_request_context("/"):
        fresh = _Form(formdata=None, data={"on": date(2026, 3, 5)})
        assert 'value="05/03/2026"' in fresh.on()


@pytest.mark.parametrize("typed", ["31/02/2026", "2026-13-45", "mai"])
def test_bad_dates_say_how_to_write_them(app, typed):
    form, valid, on, _ = _form(app, on=typed)
    assert not valid and form.on.errors == [MESSAGE]
    assert f'value="{typed}"' in on  # what was typed stays, to be corrected


def test_out_of_range_and_missing(app):
    form, valid, _, _ = _form(app, on="01/01/1800")
    assert not valid and "1900" in form.on.errors[0]
    form, valid, _, _ = _form(app, on="  ")
    assert not valid and form.on.errors == ["Vui lòng nhập ngày."]


def test_forms_render_dates_as_text_with_the_hint(admin_client_pages):
    for page in admin_client_pages:
        assert 'type="date"' not in page
        assert 'placeholder="dd/mm/yyyy"' in page


@pytest.fixture
def admin_client_pages(client, make_person):
    from tests.conftest import TEST_PASSWORD

    admin = make_person(email="admin@example.vn", roles=("admin",))
    client.post("/login", data={"email": admin.email, "password": TEST_PASSWORD})
    return [client.get(url).get_data(as_text=True) for url in ("/admin/people/new", "/admin/units/new")]
