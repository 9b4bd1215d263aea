import pytest
from rest_framework.test import APIClient


@pytest.mark.parametrize(
    "path", ["/api/nothing-here/", "/api/users/123456789012345678901234567890/", "/api/chats/x/"]
)
@pytest.mark.django_db
def test_an_unknown_api_path_is_a_json_404(anon: APIClient, path: str) -> None:
    response = anon.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_an_unknown_page_outside_the_api_is_an_html_404(anon: APIClient) -> None:
    response = anon.get("/nothing-here/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
