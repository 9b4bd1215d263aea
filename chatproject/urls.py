from django.contrib import admin
from django.templatetags.static import static
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from chatproject.admin_login import admin_login
from chatproject.health import healthz
from chatproject.metrics import metrics_view
from chatproject.paths import id_group
from chats import web

api_patterns: list[URLPattern | URLResolver] = [
    path("", include("accounts.api.urls")),
    path("", include("chats.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    path("api/", include(api_patterns)),
    path("admin/login/", admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    # Pages without an icon link (the admin, the API docs) make browsers ask for this one.
    path("favicon.ico", RedirectView.as_view(url=static("chats/icon.svg"), permanent=True)),
    # The demo pages (chats/web.py).
    path("", web.chat_list, name="home"),
    path("login/", web.LoginView.as_view(), name="login"),
    path("register/", web.register, name="register"),
    path("logout/", web.logout, name="logout"),
    re_path(rf"^chats/{id_group('chat_id')}/$", web.chat_room, name="room"),
]

handler404 = "chatproject.exceptions.page_not_found"
