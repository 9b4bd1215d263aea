from django.contrib.auth import update_session_auth_hash
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import Token

from accounts import selectors, services
from accounts.api.serializers import (
    LoginSessionSerializer,
    PasswordChangeSerializer,
    RefreshSerializer,
    RegisterSerializer,
    TokenObtainSerializer,
    TokenPairSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from accounts.credentials import session_of
from accounts.models import User
from chatproject.idempotency import IdempotentWrites
from chatproject.openapi import error_responses
from chatproject.pagination import ListCursorPagination
from chatproject.parsers import JSONParser
from chatproject.paths import ID_PATTERN
from chatproject.throttles import (
    LoginAddressThrottle,
    LoginUserThrottle,
    PasswordChangeThrottle,
    RegisterThrottle,
    WriteThrottle,
)


class RegisterView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (RegisterThrottle,)

    @extend_schema(
        request=RegisterSerializer,
        responses={201: UserSerializer, **error_responses(400, 403, 413, 429)},
        auth=[],
        tags=["auth"],
        description=(
            "As the server's REGISTRATION allows: `open` (anyone), `invite` (with a valid "
            "`invite` code made by staff in the admin, each with a use limit and an expiry; "
            "else 403) or `closed` (403)."
        ),
    )
    def post(self, request: Request) -> Response:
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class _CredentialsView(APIView):
    """An endpoint that takes credentials in its body instead of a header.

    Bad credentials are a 401. DRF turns an AuthenticationFailed into a 403 unless the view
    names an authentication scheme for the WWW-Authenticate header, so this one names Bearer.
    """

    authentication_classes = ()
    permission_classes = (AllowAny,)

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class TokenObtainView(_CredentialsView):
    parser_classes = (JSONParser, FormParser)
    throttle_classes = (LoginAddressThrottle, LoginUserThrottle)

    @extend_schema(
        request=TokenObtainSerializer,
        responses={200: TokenPairSerializer, **error_responses(400, 401, 413, 429)},
        auth=[],
        tags=["auth"],
        description="JSON `{login, password}`, or the form-encoded OAuth2 password grant.",
    )
    def post(self, request: Request) -> Response:
        data = TokenObtainSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tokens = services.tokens_obtain(request=request._request, **data.validated_data)
        return Response(tokens)


class TokenRefreshView(_CredentialsView):
    @extend_schema(
        request=RefreshSerializer,
        responses={200: TokenPairSerializer, **error_responses(400, 401, 413)},
        auth=[],
        tags=["auth"],
        description="Rotates the refresh token: the one sent stops working.",
    )
    def post(self, request: Request) -> Response:
        data = RefreshSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.tokens_refresh(refresh=data.validated_data["refresh"]))


class LogoutView(IdempotentWrites, APIView):
    @extend_schema(
        request=RefreshSerializer,
        responses={204: None, **error_responses(400, 401, 413)},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = RefreshSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.logout(user=request.user, refresh=data.validated_data["refresh"])  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


PRESENCE_PRIVACY = (
    "Active users only. `status` and `last_seen` are shown only to people who share a chat "
    "with the user; to anyone else both are null."
)


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("search", str, description="Login or name contains this.")],
        responses={200: UserSerializer(many=True), **error_responses(400, 401)},
        description=PRESENCE_PRIVACY,
    ),
    retrieve=extend_schema(
        responses={200: UserSerializer, **error_responses(401, 404)},
        description=PRESENCE_PRIVACY + " A deactivated user is 404.",
    ),
)
@extend_schema(tags=["users"])
class UserViewSet(
    IdempotentWrites, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = UserSerializer
    pagination_class = ListCursorPagination
    lookup_value_regex = ID_PATTERN
    throttle_classes = (WriteThrottle,)
    write_scopes = {"me": "profile"}

    def get_queryset(self) -> QuerySet[User]:
        viewer: User = self.request.user  # type: ignore[assignment]
        if self.action == "list":
            search = _SearchQuery(data=self.request.query_params)
            search.is_valid(raise_exception=True)
            query = search.validated_data.get("search", "")
            return selectors.user_directory(viewer=viewer, search=query)
        return selectors.user_directory(viewer=viewer)

    @extend_schema(
        methods=["GET"], responses={200: UserSerializer, **error_responses(401)}, request=None
    )
    @extend_schema(
        methods=["PATCH"],
        request=UserUpdateSerializer,
        responses={200: UserSerializer, **error_responses(400, 401, 413, 429)},
    )
    @action(detail=False, methods=["get", "patch"])
    def me(self, request: Request) -> Response:
        user: User = request.user  # type: ignore[assignment]
        if request.method == "PATCH":
            data = UserUpdateSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            user = services.user_update(user=user, **data.validated_data)
        return Response(UserSerializer(user).data)

    @extend_schema(
        request=PasswordChangeSerializer,
        responses={200: TokenPairSerializer, **error_responses(400, 401, 413, 429)},
        description=(
            "Changes the password, revokes every token of the user, returns a new pair. At most "
            "5 attempts an hour per user (`THROTTLE_PASSWORD_CHANGE`), right or wrong."
        ),
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="me/password",
        throttle_classes=[PasswordChangeThrottle],
    )
    def password(self, request: Request) -> Response:
        data = PasswordChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user: User = request.user  # type: ignore[assignment]
        tokens = services.user_password_change(
            user=user, request=request._request, **data.validated_data
        )
        if isinstance(request.successful_authenticator, SessionAuthentication):
            # Keep this browser signed in; the user's other sessions end with the old password.
            update_session_auth_hash(request._request, user)
        return Response(tokens)


class _SearchQuery(serializers.Serializer):
    search = serializers.CharField(max_length=100, required=False, allow_blank=True)


@extend_schema_view(
    list=extend_schema(
        summary="The people I blocked",
        responses={200: UserSerializer(many=True), **error_responses(400, 401)},
    ),
    update=extend_schema(
        summary="Block someone",
        request=None,
        responses={204: None, **error_responses(400, 401, 404)},
        description=(
            "They can no longer open a direct chat with me, add me to a chat, or message me in "
            "our direct chat: each is 403 for them. Blocking again changes nothing."
        ),
    ),
    destroy=extend_schema(
        summary="Unblock someone",
        responses={204: None, **error_responses(401, 404)},
        description="Unblocking someone not blocked changes nothing.",
    ),
)
@extend_schema(tags=["users"])
class BlockViewSet(IdempotentWrites, viewsets.GenericViewSet):
    serializer_class = UserSerializer
    pagination_class = ListCursorPagination
    lookup_url_kwarg = "user_id"
    lookup_value_regex = ID_PATTERN

    def get_queryset(self) -> QuerySet[User]:
        return selectors.blocked_users(user=self.request.user)  # type: ignore[arg-type]

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(UserSerializer(page, many=True).data)

    def update(self, request: Request, user_id: str) -> Response:
        services.block_add(user=request.user, blocked_id=int(user_id))  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)

    def destroy(self, request: Request, user_id: str) -> Response:
        services.block_remove(user=request.user, blocked_id=int(user_id))  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        summary="My live login sessions",
        responses={200: LoginSessionSerializer(many=True), **error_responses(401)},
        description=(
            "Every sign-in that has not ended: token logins (a `token` call and its refreshes) "
            "and browser sign-ins, most recently used first; `current` marks this request's."
        ),
    ),
    destroy=extend_schema(
        summary="End one of my login sessions",
        responses={204: None, **error_responses(401, 404)},
        description=(
            "Its tokens stop working at once, a browser's cookie is deleted, and its sockets "
            "close with 4403 on every server process. Another user's session is 404."
        ),
    ),
)
@extend_schema(tags=["auth"])
class LoginSessionViewSet(viewsets.ViewSet):
    lookup_value_regex = r"[A-Za-z0-9_-]{1,64}"

    def _current_id(self, request: Request) -> str | None:
        if isinstance(request.auth, Token):  # signed in with a token: its login session
            return session_of(request.auth)
        return selectors.browser_session_id(session_key=request.session.session_key or "")

    def list(self, request: Request) -> Response:
        user: User = request.user  # type: ignore[assignment]
        sessions = services.login_sessions_live(user=user).order_by("-last_used")[
            :LOGIN_SESSIONS_SHOWN
        ]
        context = {"current_id": self._current_id(request)}
        return Response(LoginSessionSerializer(sessions, many=True, context=context).data)

    def destroy(self, request: Request, pk: str) -> Response:
        user: User = request.user  # type: ignore[assignment]
        services.login_session_end_mine(user=user, session_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="End all my other login sessions",
        request=None,
        responses={204: None, **error_responses(401)},
    )
    @action(detail=False, methods=["post"], url_path="revoke-others")
    def revoke_others(self, request: Request) -> Response:
        user: User = request.user  # type: ignore[assignment]
        services.login_sessions_end_others(user=user, current_id=self._current_id(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


# The most a sessions list shows: a user with more has signed in from many places, and ends them
# all with revoke-others.
LOGIN_SESSIONS_SHOWN = 100
