"""Admin lists that stay quick on a million rows: estimated counts, and filters by one related
row's id instead of a sidebar listing them all."""

import json
from collections.abc import Iterable
from typing import Any, cast

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.paginator import Paginator
from django.db import connections, models
from django.db.models import Max, Min, QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property
from django.utils.html import format_html

from accounts.models import User
from chats.api.serializers import BIGINT_MAX
from chats.models import Chat


class EstimatedCountPaginator(Paginator):
    """A paginator that never counts a whole big table.

    Django's changelist asks its paginator for the count on every page view, and on a million
    messages that `SELECT COUNT(*)` is the slowest query of the page. Unfiltered, this one takes
    PostgreSQL's own estimate (pg_class.reltuples, which autovacuum keeps fresh) or, where there
    is none (SQLite, a table never analysed), the span of ids: both cost one index or catalogue
    read. Filtered, it counts exactly but stops at EXACT_UP_TO rows (a COUNT over a LIMITed
    subquery); past that, it takes the planner's estimate. So the count and the last page
    number can be approximate on big lists, and a page past the real end is empty.
    """

    EXACT_UP_TO = 10_000

    @cached_property
    def count(self) -> int:
        queryset = cast(QuerySet[Any], self.object_list)
        if not queryset.query.where:
            return _table_estimate(queryset)
        counted = queryset.order_by()[: self.EXACT_UP_TO + 1].count()
        if counted <= self.EXACT_UP_TO:
            return counted
        return max(counted, _planner_estimate(queryset))


def _table_estimate(queryset: QuerySet[Any]) -> int:
    estimate = _reltuples(queryset)
    if estimate is not None and estimate > 0:
        return estimate
    span = queryset.model._default_manager.using(queryset.db).aggregate(
        low=Min("pk"), high=Max("pk")
    )
    return 0 if span["high"] is None else int(span["high"]) - int(span["low"]) + 1


def _reltuples(queryset: QuerySet[Any]) -> int | None:
    """PostgreSQL's estimate of the table's rows: -1 (or 0) until the table is first analysed."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)",
            [queryset.model._meta.db_table],
        )
        row = cursor.fetchone()
    return None if row is None or row[0] is None else int(row[0])


def _planner_estimate(queryset: QuerySet[Any]) -> int:
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return 0
    sql, params = queryset.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        (plan,) = cursor.fetchone()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class RawIdFilter(admin.SimpleListFilter):
    """Filters by one related row named by its id in the query string (`?chat=5`), the way
    raw_id_fields pick one. It never lists every chat or author, which on big tables would load
    them all into the sidebar: it shows the chosen one, and the list's cells link to it."""

    related_model: type[models.Model]
    lookup: str

    def has_output(self) -> bool:
        return True

    def _pk(self) -> int | None:
        value = self.value()
        if value is None or not value.isdigit() or not 0 < int(value) <= BIGINT_MAX:
            return None
        return int(value)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        pk = self._pk()
        if pk is None:
            return []
        chosen = self.related_model._default_manager.filter(pk=pk).first()
        return [(str(pk), f"{chosen} (#{pk})" if chosen else f"#{pk}, gone")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() is None:
            return queryset
        pk = self._pk()
        if pk is None:
            raise IncorrectLookupParameters(f"{self.parameter_name} must be an id.")
        return queryset.filter(**{self.lookup: pk})


class ChatIdFilter(RawIdFilter):
    title = "chat (click one in the list)"
    parameter_name = "chat"
    related_model = Chat
    lookup = "chat_id"


class AuthorIdFilter(RawIdFilter):
    title = "author (click one in the list)"
    parameter_name = "author"
    related_model = User
    lookup = "user_id"


class RemovedFilter(admin.SimpleListFilter):
    title = "removed by a moderator"
    parameter_name = "removed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("yes", "no"):
            return queryset.filter(removed_at__isnull=self.value() == "no")
        return queryset


def filter_link(parameter: str, pk: int | None, label: object, title: str) -> str:
    if pk is None:
        return "-"
    return format_html('<a href="?{}={}" title="{}">{}</a>', parameter, pk, title, label)


class ModeratorFilter(admin.SimpleListFilter):
    """Lists staff only, never every user."""

    title = "moderator"
    parameter_name = "moderator"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[str, str]]:
        staff = User.objects.filter(is_staff=True).order_by("login")
        return [(str(user.pk), user.login) for user in staff]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value is None:
            return queryset
        if not value.isdigit() or int(value) > BIGINT_MAX:
            raise IncorrectLookupParameters("moderator must be an id.")
        return queryset.filter(moderator_id=int(value))


class TargetUserIdFilter(RawIdFilter):
    title = "target user (click one in the list)"
    parameter_name = "target_user"
    related_model = User
    lookup = "target_user_id"
