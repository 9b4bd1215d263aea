"""The demo pages: sign-in, sign-up, the chat list and a chat room.

The views are thin. They render a page shell; its scripts (chats/static/chats/js/) read and write
through the REST API with the browser session and get live events from /ws/. Sign-up goes through
accounts.services.user_register, the room's access check through chats.selectors, and both forms
share the API's rate limits, so a page is no way around them.
"""

from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework import exceptions

from accounts import services as account_services
from accounts.management.commands.demo_users import DEMO_PASSWORD, DEMO_USERS
from accounts.models import LOGIN_PATTERN, User
from accounts.services import user_register
from chatproject.throttles import (
    TOO_MANY,
    LoginAddressThrottle,
    LoginUserThrottle,
    RegisterThrottle,
    form_throttle_wait,
    refused_login_form,
)
from chats import selectors
from chats.models import ChatType

# --- Sign in, sign up, sign out -----------------------------------------------------------------


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if settings.DEBUG:  # `make run` creates demo logins (DEBUG only); say so where it helps
            logins = [login for login, _, _ in DEMO_USERS]
            if User.objects.filter(login__in=logins).count() == len(logins):
                context.update(demo_logins=logins, demo_password=DEMO_PASSWORD)
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        wait = form_throttle_wait(request, LoginAddressThrottle(), LoginUserThrottle())
        if wait is not None:
            form = refused_login_form(self.get_form_class(), request, wait)
            response = self.render_to_response(self.get_context_data(form=form))
            response.status_code = 429
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    account_services.session_logout(request=request)
    return redirect(settings.LOGIN_URL)


class RegisterForm(forms.Form):
    login = forms.RegexField(
        LOGIN_PATTERN,
        max_length=150,
        help_text="3 to 150 letters, digits, '_', '.' or '-'. You sign in with it.",
        error_messages={"invalid": "Use 3 to 150 letters, digits, '_', '.' or '-'."},
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    name = forms.CharField(
        max_length=150,
        help_text="How others see you.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    password = forms.CharField(
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_again = forms.CharField(
        label="Password again",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    # Shown only while REGISTRATION is "invite".
    invite = forms.CharField(
        label="Invite code", max_length=32, help_text="The code you were given to join."
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("password") != cleaned.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        return cleaned


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = RegisterForm(request.POST if request.method == "POST" else None)
    if settings.REGISTRATION != "invite":
        del form.fields["invite"]
    status = 200
    if request.method == "POST":
        wait = form_throttle_wait(request, RegisterThrottle())
        if wait is not None:
            form.is_valid()
            form.add_error(None, TOO_MANY.format(seconds=wait))
            status = 429
        elif form.is_valid():
            try:
                user = user_register(
                    login=form.cleaned_data["login"],
                    password=form.cleaned_data["password"],
                    name=form.cleaned_data["name"],
                    invite=form.cleaned_data.get("invite", ""),
                )
            except exceptions.ValidationError as exc:
                _add_api_errors(form, exc.detail)
            except exceptions.PermissionDenied as exc:  # closed, or no valid invite code
                form.add_error(None, str(exc.detail))
                status = 403
            else:
                auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                return redirect(settings.LOGIN_REDIRECT_URL)
    context = {"form": form, "closed": settings.REGISTRATION == "closed"}
    return render(request, "web/register.html", context, status=status)


def _add_api_errors(form: forms.Form, detail: Any) -> None:
    """Put a service's validation errors, `{field: [...]}` or `[...]`, on the form's fields."""
    items = detail.items() if isinstance(detail, dict) else [(None, detail)]
    for field, messages in items:
        name = field if field in form.fields else None
        for message in messages if isinstance(messages, list) else [messages]:
            form.add_error(name, str(message))


# --- The chat pages -------------------------------------------------------------------------------


@login_required
@require_GET
def chat_list(request: HttpRequest) -> HttpResponse:
    return render(request, "web/chat_list.html")


@login_required
@require_GET
def chat_room(request: HttpRequest, chat_id: str) -> HttpResponse:
    user = cast(User, request.user)
    try:
        chat = selectors.chat_get_for_member(user=user, chat_id=int(chat_id))
    except exceptions.NotFound:
        # Not a member: as if the chat did not exist. The page itself, not Http404, so that under
        # DEBUG (`make run`) too a person sees it rather than Django's technical 404.
        return render(request, "404.html", status=404)
    title = chat.title
    if chat.chat_type == ChatType.DIRECT:
        peer = selectors.member_list(chat=chat).exclude(user=user).first()
        title = peer.user.name if peer is not None else "Direct chat"
    # The page refuses a file over the limit before uploading it.
    context = {"chat": chat, "title": title, "attachment_max_bytes": settings.ATTACHMENT_MAX_BYTES}
    return render(request, "web/chat_room.html", context)
