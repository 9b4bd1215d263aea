from base64 import b64encode
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from accounts.models import User

USERS = "/api/users/"
USER_FIELDS = {"id", "login", "name", "status", "last_seen", "created", "updated"}


def logins(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [user["login"] for user in response.json()["results"]]


def forged_cursor(**fields: str) -> str:
    return b64encode(urlencode(fields).encode()).decode()


def test_the_directory_lists_active_users_in_pages(
    api: APIClient, user: User, other_user: User
) -> None:
    response = api.get(USERS)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"results", "next", "previous"}
    assert body["next"] is None
    assert body["previous"] is None
    assert [u["login"] for u in body["results"]] == ["alice", "bob"]
    assert set(body["results"][0]) == USER_FIELDS


def test_inactive_users_are_not_listed(
    api: APIClient, user: User, make_user: Callable[..., User]
) -> None:
    make_user(login="ghost", name="Ghost", is_active=False)

    assert logins(api.get(USERS)) == ["alice"]
    assert logins(api.get(USERS, {"search": "ghost"})) == []


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("ali", ["alice"]),
        ("LIC", ["alice"]),
        ("smith", ["jsmith", "margaret"]),
        ("Smith", ["jsmith", "margaret"]),
        ("ret sm", ["margaret"]),
        ("zzz", []),
        ("", ["alice", "jsmith", "margaret"]),
    ],
)
def test_search_matches_a_login_or_name_containing_the_query(
    api: APIClient, make_user: Callable[..., User], query: str, found: list[str]
) -> None:
    make_user(login="jsmith", name="John")
    make_user(login="margaret", name="Margaret Smith")

    assert logins(api.get(USERS, {"search": query})) == found


def test_search_treats_wildcards_literally(api: APIClient, make_user: Callable[..., User]) -> None:
    make_user(login="percent", name="100% Bob")
    make_user(login="under_score", name="Under")

    assert logins(api.get(USERS, {"search": "%"})) == ["percent"]
    assert logins(api.get(USERS, {"search": "_"})) == ["under_score"]


def test_search_over_100_characters_is_400(api: APIClient) -> None:
    response = api.get(USERS, {"search": "x" * 101})

    assert response.status_code == 400
    assert "search" in response.json()


def test_pages_follow_next_and_previous_without_gaps_or_repeats(
    api: APIClient, user: User, make_user: Callable[..., User]
) -> None:
    for _ in range(6):
        make_user()
    everyone = list(User.objects.order_by("id").values_list("login", flat=True))

    seen: list[str] = []
    url: str | None = f"{USERS}?limit=3"
    last_page = None
    while url:
        last_page = api.get(url)
        seen += logins(last_page)
        url = last_page.json()["next"]

    assert seen == everyone
    assert last_page is not None
    back = api.get(last_page.json()["previous"])
    assert logins(back) == everyone[3:6]


def test_limit_caps_the_page_size(api: APIClient, user: User, other_user: User) -> None:
    response = api.get(USERS, {"limit": 1})

    assert logins(response) == ["alice"]
    assert response.json()["next"] is not None


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", "", "1e2", "\x00", "²"])
def test_a_bad_limit_is_400(api: APIClient, limit: str) -> None:
    response = api.get(USERS, {"limit": limit})

    assert response.status_code == 400
    assert "limit" in response.json()


@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!",
        forged_cursor(o="0", r="0", p="abc"),
        forged_cursor(o="0", r="0", p="\x00"),
        forged_cursor(o="-5", r="0", p="1"),
    ],
    ids=["not base64", "position not a number", "position nul", "negative offset"],
)
def test_a_bad_or_forged_cursor_is_400(api: APIClient, user: User, cursor: str) -> None:
    response = api.get(USERS, {"cursor": cursor})

    assert response.status_code == 400
    assert response.json() == {"cursor": ["Invalid cursor."]}


@pytest.mark.parametrize(
    "cursor",
    [
        forged_cursor(o="0", r="0", p="99999999999999999999999999"),
        forged_cursor(o="99999999999", r="0", p="1"),
    ],
    ids=["position beyond bigint", "huge offset"],
)
def test_a_cursor_past_the_end_is_an_empty_page(api: APIClient, user: User, cursor: str) -> None:
    response = api.get(USERS, {"cursor": cursor})

    assert logins(response) == []
    assert response.json()["next"] is None


@pytest.mark.parametrize("count", [1, 30])
def test_a_page_costs_the_same_queries_however_many_users(
    api: APIClient,
    make_user: Callable[..., User],
    django_assert_max_num_queries: Any,
    count: int,
) -> None:
    for _ in range(count):
        make_user()

    with django_assert_max_num_queries(2):  # the token's user, then the page
        response = api.get(USERS, {"search": "user"})

    assert len(response.json()["results"]) == count


def test_a_user_looks_up_another_by_id(api: APIClient, other_user: User) -> None:
    response = api.get(f"{USERS}{other_user.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == USER_FIELDS
    assert (body["id"], body["login"], body["name"]) == (other_user.pk, "bob", "Bob")


def test_a_lookup_costs_two_queries(
    api: APIClient, other_user: User, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(2):
        api.get(f"{USERS}{other_user.pk}/")


@pytest.mark.parametrize(
    "user_id",
    ["999999", "999999999999999999", "99999999999999999999999", "0", "abc", "-1", "1.0"],
)
def test_an_unknown_or_impossible_id_is_a_json_404(api: APIClient, user_id: str) -> None:
    response = api.get(f"{USERS}{user_id}/")

    assert response.status_code == 404
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("path", [USERS, "/api/users/1/"])
@pytest.mark.django_db
def test_the_directory_needs_a_token(anon: APIClient, path: str) -> None:
    response = anon.get(path)

    assert response.status_code == 401


def test_presence_is_shown_only_to_people_who_share_a_chat(
    api_for: Callable[[User], APIClient],
    user: User,
    other_user: User,
    make_user: Callable[..., User],
) -> None:
    """Security review finding 13: anyone could read anyone's status and last seen time."""
    from tests.factories import chat_factory

    stranger = make_user(login="stranger", name="Stranger")
    chat_factory(user, [other_user])
    User.objects.filter(pk=other_user.pk).update(status="away")

    def presence(viewer: User, user_id: int) -> tuple[Any, Any]:
        found = api_for(viewer).get(f"{USERS}{user_id}/").json()
        return found["status"], found["last_seen"]

    def listed(viewer: User) -> dict[str, Any]:
        return {u["login"]: u["status"] for u in api_for(viewer).get(USERS).json()["results"]}

    assert presence(user, other_user.pk)[0] == "away"
    assert presence(stranger, other_user.pk) == (None, None)
    assert listed(stranger) == {"alice": None, "bob": None, "stranger": "offline"}
    assert listed(user) == {"alice": "offline", "bob": "away", "stranger": None}


def test_a_deactivated_user_cannot_be_looked_up(
    api: APIClient, make_user: Callable[..., User]
) -> None:
    ghost = make_user(login="ghost", name="Ghost", is_active=False)

    response = api.get(f"{USERS}{ghost.pk}/")

    assert response.status_code == 404
