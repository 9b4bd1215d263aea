"""The admin's login, with the API login's budgets (security review finding 4): without them, 30
wrong superuser passwords were answered 200, and the right one then worked."""

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from chatproject.throttles import (
    LoginAddressThrottle,
    LoginUserThrottle,
    form_throttle_wait,
    refused_login_form,
)


def admin_login(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        wait = form_throttle_wait(request, LoginAddressThrottle(), LoginUserThrottle())
        if wait is not None:
            form = refused_login_form(AdminAuthenticationForm, request, wait)
            context = {
                **admin.site.each_context(request),
                "title": "Log in",
                "app_path": request.get_full_path(),
                "form": form,
            }
            response = TemplateResponse(request, "admin/login.html", context, status=429)
            response["Retry-After"] = str(wait)
            return response
    return admin.site.login(request)
