"""The admin's moderation actions: a "Reason" box beside the action, and one service call per
selected row, each refusal reported to the moderator."""

from collections.abc import Callable
from typing import Any, TypeVar, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from rest_framework.exceptions import APIException

from accounts.models import User
from chats.models import REASON_MAX

Obj = TypeVar("Obj", bound=models.Model)

# An action handles at most this many rows: "select all" on a million messages is a mistake.
ACTION_LIMIT = 500


class ReasonActionForm(helpers.ActionForm):
    """The action bar with a "Reason" box next to the action: the moderator types why."""

    reason = forms.CharField(
        required=False,
        max_length=REASON_MAX,
        label="Reason",
        widget=forms.TextInput(attrs={"size": 40, "placeholder": "why (kept in the audit trail)"}),
    )


def _detail_text(exc: APIException) -> str:
    detail: Any = exc.detail
    if isinstance(detail, dict):
        detail = [
            item
            for value in detail.values()
            for item in (value if isinstance(value, list) else [value])
        ]
    if isinstance(detail, list):
        return " ".join(str(item) for item in detail)
    return str(detail)


def moderate_each(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Obj],
    act: Callable[[Obj, User, str], object],
    done: str,
    *,
    reason_required: bool = False,
) -> None:
    """Call a service for each selected row, as the moderator, with the reason they typed; report
    what was done and each refusal."""
    reason = request.POST.get("reason", "").strip()
    if reason_required and not reason:
        model_admin.message_user(
            request, "Type the reason in the Reason box first. Nothing changed.", messages.ERROR
        )
        return
    rows = list(queryset[: ACTION_LIMIT + 1])
    if len(rows) > ACTION_LIMIT:
        model_admin.message_user(
            request,
            f"Select at most {ACTION_LIMIT} rows at a time. Nothing changed.",
            messages.ERROR,
        )
        return
    moderator = cast(User, request.user)  # the admin admits only authenticated staff
    succeeded = 0
    for row in rows:
        try:
            act(row, moderator, reason)
        except APIException as exc:
            model_admin.message_user(request, f"{row}: {_detail_text(exc)}", messages.ERROR)
        else:
            succeeded += 1
    if succeeded:
        model_admin.message_user(request, done.format(count=succeeded), messages.SUCCESS)
