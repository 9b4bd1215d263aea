from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api.views import (
    BlockViewSet,
    LoginSessionViewSet,
    LogoutView,
    RegisterView,
    TokenObtainView,
    TokenRefreshView,
    UserViewSet,
)

router = SimpleRouter()
router.register("users/me/blocks", BlockViewSet, basename="block")
router.register("users", UserViewSet, basename="user")
router.register("auth/sessions", LoginSessionViewSet, basename="login-session")

urlpatterns = [
    path("auth/register/", RegisterView.as_view(), name="auth-register"),
    path("auth/token/", TokenObtainView.as_view(), name="auth-token"),
    path("auth/token/refresh/", TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("auth/logout/", LogoutView.as_view(), name="auth-logout"),
    *router.urls,
]
