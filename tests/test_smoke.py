from tests.conftest import TEST_PASSWORD


def test_home_page_in_vietnamese(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Đăng nhập" in response.get_data(as_text=True)


def test_admin_logs_in_and_sees_people(client, auth, make_person):
    admin = make_person(email="admin@example.vn", roles=("admin",))
    response = auth.login("admin@example.vn")
    assert response.status_code == 302
    page = client.get("/admin/people/")
    assert page.status_code == 200
    assert admin.full_name in page.get_data(as_text=True)
