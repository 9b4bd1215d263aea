"""A moderator opens each list in the admin: it renders, and costs the same number of queries for
1 row as for 20. The list of messages stays fast on a big table: it never counts the table and
never lists every chat or author in its filters."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django import DjangoAssertNumQueries

from accounts.models import User
from chats.models import Chat, Message
from chats.moderation.admin_lists import EstimatedCountPaginator
from chats.moderation.services import message_remove, report_create
from chats.services.messages import message_send
from tests.factories import chat_factory
from tests.moderation.conftest import AdminFor, MakeUser, changelist

# The session, the user, their permissions (own and group's), then the page's own queries.
LIST_QUERIES = {
    "accounts.user": 7,  # + a page count, the page
    "chats.chat": 7,  # + a page count, the page with creators and message counts
    # + an estimate, never a COUNT (PostgreSQL: pg_class, and the span of ids where the table
    # was never analysed), the page with chats and authors
    "chats.message": 7,
    "chats.report": 7,  # + a page count, the page with messages, authors, chats and reporters
    "chats.auditentry": 8,  # + the staff for the moderator filter, a page count, the page
}
ROWS = pytest.mark.parametrize("rows", [1, 20])


@pytest.fixture
def busy(user: User, make_user: MakeUser, root: User) -> Any:
    """`busy(rows)`: rows chats, each with a new author's message that was reported, removed and
    so written to the audit trail."""

    def make(rows: int) -> None:
        for n in range(rows):
            author = make_user()
            chat = chat_factory(user, [author], title=f"Chat {n}")
            message, _ = message_send(chat=chat, user=author, text=f"spam {n}")
            report_create(message=message, reporter=user, reason="spam")
            message_remove(message=message, moderator=root, reason="spam")

    return make


def count_queries(sql: list[dict[str, Any]], table: str) -> list[str]:
    return [q["sql"] for q in sql if "COUNT(" in q["sql"].upper() and f'"{table}"' in q["sql"]]


@ROWS
@pytest.mark.parametrize("model", sorted(LIST_QUERIES))
def test_a_moderator_opens_every_list_at_a_fixed_cost(
    admin_for: AdminFor,
    mo: User,
    busy: Any,
    rows: int,
    model: str,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    busy(rows)
    client = admin_for(mo)

    with django_assert_max_num_queries(LIST_QUERIES[model]):
        response = client.get(changelist(model))

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) >= rows


def test_the_message_list_never_counts_the_messages_table(
    admin_for: AdminFor, mo: User, busy: Any
) -> None:
    busy(3)

    with CaptureQueriesContext(connection) as queries:
        response = admin_for(mo).get(changelist("chats.message"))

    assert response.status_code == 200
    assert count_queries(queries.captured_queries, "chats_message") == []
    # An estimate, not a count: PostgreSQL's may be stale, but the list is never empty for it.
    assert response.context["cl"].result_count > 0
    assert len(response.context["cl"].result_list) == 3


def test_a_filtered_message_list_counts_at_most_a_bounded_number_of_rows(
    admin_for: AdminFor, mo: User, spam: Message
) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = admin_for(mo).get(changelist("chats.message"), {"chat": spam.chat_id})

    assert [message.pk for message in response.context["cl"].result_list] == [
        spam.pk,
        spam.pk - 1,
    ]
    counts = count_queries(queries.captured_queries, "chats_message")
    assert len(counts) == 1
    assert f"LIMIT {EstimatedCountPaginator.EXACT_UP_TO + 1}" in counts[0]
    assert response.context["cl"].result_count == 2


def test_the_chat_and_author_filters_show_only_the_chosen_one(
    admin_for: AdminFor, mo: User, spam: Message, mallory: User, user: User, make_user: MakeUser
) -> None:
    for n in range(5):
        chat_factory(user, [make_user()], title=f"Other {n}")
    client = admin_for(mo)

    unfiltered = client.get(changelist("chats.message"))
    filtered = client.get(changelist("chats.message"), {"chat": spam.chat_id, "author": mallory.pk})

    def choices(response: Any) -> dict[str, list[Any]]:
        return {
            spec.parameter_name: spec.lookup_choices
            for spec in response.context["cl"].filter_specs
            if getattr(spec, "parameter_name", None) in ("chat", "author")
        }

    assert choices(unfiltered) == {"chat": [], "author": []}
    assert choices(filtered) == {
        "chat": [(str(spam.chat_id), f"Team (#{spam.chat_id})")],
        "author": [(str(mallory.pk), f"mallory (#{mallory.pk})")],
    }
    assert [message.pk for message in filtered.context["cl"].result_list] == [spam.pk]


@pytest.mark.parametrize("value", ["abc", "-1", "0", "99999999999999999999999"])
def test_a_chat_filter_that_is_no_id_is_refused_without_an_error(
    admin_for: AdminFor, mo: User, spam: Message, value: str
) -> None:
    response = admin_for(mo).get(changelist("chats.message"), {"chat": value})

    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


def test_the_message_list_links_each_chat_and_author_to_its_filter(
    admin_for: AdminFor, mo: User, spam: Message, mallory: User
) -> None:
    page = admin_for(mo).get(changelist("chats.message")).content.decode()

    assert f'href="?chat={spam.chat_id}"' in page
    assert f'href="?author={mallory.pk}"' in page
    assert "buy cheap pills" in page


@pytest.mark.parametrize(("q", "found"), [("cheap", True), ("CHE pil", True), ("eap", False)])
def test_a_moderator_searches_messages_by_the_start_of_words(
    admin_for: AdminFor, mo: User, spam: Message, q: str, found: bool
) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = admin_for(mo).get(changelist("chats.message"), {"q": q})

    assert [message.pk for message in response.context["cl"].result_list] == (
        [spam.pk] if found else []
    )
    if connection.vendor == "postgresql":  # the GIN index's expression
        assert any("to_tsvector" in query["sql"] for query in queries.captured_queries)


def test_the_lists_escape_what_members_wrote(
    admin_for: AdminFor, mo: User, user: User, other_user: User, root: User
) -> None:
    chat = chat_factory(user, [other_user], title="<b>Team</b>")
    message, _ = message_send(chat=chat, user=other_user, text="<script>alert(1)</script>")
    report_create(message=message, reporter=user, reason="<img src=x onerror=alert(2)>")
    message_remove(message=message, moderator=root, reason="<i>xss</i>")
    client = admin_for(mo)

    for model in ("chats.message", "chats.report", "chats.auditentry", "chats.chat"):
        page = client.get(changelist(model)).content.decode()
        assert "<script>alert" not in page
        assert "<img src=x" not in page
        assert "<b>Team" not in page
        assert "<i>xss" not in page


def test_moderators_see_the_text_of_removed_messages(
    admin_for: AdminFor, mo: User, root: User, spam: Message
) -> None:
    message_remove(message=spam, moderator=root, reason="spam")

    page = admin_for(mo).get(changelist("chats.message"), {"removed": "yes"}).content.decode()

    assert "[removed] buy cheap pills" in page


def test_the_chat_list_shows_type_creator_and_message_count(
    admin_for: AdminFor, mo: User, spam: Message, user: User
) -> None:
    response = admin_for(mo).get(changelist("chats.chat"), {"q": "tea"})

    (chat,) = response.context["cl"].result_list
    assert (chat.pk, chat.message_count, chat.chat_type) == (spam.chat_id, 2, "group")
    page = response.content.decode()
    assert f'?chat={spam.chat_id}">2</a>' in page
    assert "alice" in page  # the creator


def test_the_user_list_searches_by_login_and_name_and_filters_by_status(
    admin_for: AdminFor, mo: User, mallory: User, other_user: User
) -> None:
    client = admin_for(mo)

    by_name = client.get(changelist("accounts.user"), {"q": "Mallo"}).context["cl"].result_list
    by_login = client.get(changelist("accounts.user"), {"q": "bob"}).context["cl"].result_list
    inactive = client.get(changelist("accounts.user"), {"is_active__exact": "0"})

    assert list(by_name) == [mallory]
    assert list(by_login) == [other_user]
    assert list(inactive.context["cl"].result_list) == []


# --- The estimate -------------------------------------------------------------------------------


def test_the_estimate_is_the_span_of_ids_where_the_database_has_none(
    spam: Message, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite has no estimate, nor has PostgreSQL for a table it never analysed."""
    monkeypatch.setattr("chats.moderation.admin_lists._reltuples", lambda queryset: -1)
    paginator = EstimatedCountPaginator(Message.objects.order_by("-id"), 100)

    assert paginator.count == 2
    assert paginator.num_pages == 1


@pytest.mark.django_db
def test_an_empty_table_counts_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("chats.moderation.admin_lists._reltuples", lambda queryset: -1)
    paginator = EstimatedCountPaginator(Chat.objects.order_by("-id"), 100)

    assert paginator.count == 0
    assert list(paginator.page(1).object_list) == []


@pytest.mark.postgres
def test_on_postgresql_the_estimate_is_pg_class_reltuples(
    spam: Message, team: Chat, user: User
) -> None:
    for n in range(8):
        message_send(chat=team, user=user, text=f"more {n}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE chats_message")

    with CaptureQueriesContext(connection) as queries:
        count = EstimatedCountPaginator(Message.objects.order_by("-id"), 100).count

    assert count == 10
    assert [q["sql"] for q in queries.captured_queries if "pg_class" in q["sql"]]
    assert count_queries(queries.captured_queries, "chats_message") == []


@pytest.mark.postgres
def test_on_postgresql_a_big_filtered_list_takes_the_planners_estimate(
    team: Chat, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(6):
        message_send(chat=team, user=user, text=f"line {n}")
    monkeypatch.setattr(EstimatedCountPaginator, "EXACT_UP_TO", 3)
    messages = Message.objects.filter(chat=team).order_by("-id")

    with CaptureQueriesContext(connection) as queries:
        count = EstimatedCountPaginator(messages, 2).count

    assert count >= 4  # past the exact count's limit
    (counted,) = count_queries(queries.captured_queries, "chats_message")
    assert "LIMIT 4" in counted
    assert any(q["sql"].startswith("EXPLAIN (FORMAT JSON)") for q in queries.captured_queries)


def test_a_small_filtered_list_is_counted_exactly(team: Chat, user: User) -> None:
    message_send(chat=team, user=user, text="one")

    messages = Message.objects.filter(chat=team).order_by("-id")
    assert EstimatedCountPaginator(messages, 100).count == 1
