from django.db.models import Case, Exists, OuterRef, Q, QuerySet, Value, When
from rest_framework_simplejwt.tokens import Token

from accounts.credentials import CredentialsJWTAuthentication
from accounts.models import Block, LoginSession, User


def user_directory(*, viewer: User, search: str = "") -> QuerySet[User]:
    """Active users (a deactivated one is not found), each annotated `shares_chat`: whether the
    viewer may see their presence, being them or sharing a chat with them."""
    # Here, not at the top: chats' models build on accounts'.
    from chats.models import Membership

    viewers_chats = Membership.objects.filter(user=viewer).values("chat_id")
    shared = Membership.objects.filter(user=OuterRef("pk"), chat_id__in=viewers_chats)
    users = User.objects.filter(is_active=True).annotate(
        shares_chat=Case(When(pk=viewer.pk, then=Value(True)), default=Exists(shared))
    )
    if search:
        users = users.filter(Q(login__icontains=search) | Q(name__icontains=search))
    return users


def user_for_access_token(raw: str) -> tuple[User, Token]:
    """The user of a valid access token, checked exactly as the REST API checks its header:
    signature, expiry, an active user, and credentials not revoked since the token was issued.

    Raises AuthenticationFailed (InvalidToken is one) for anything else.
    """
    authentication = CredentialsJWTAuthentication()
    token = authentication.get_validated_token(raw.encode("utf-8", "surrogatepass"))
    return authentication.get_user(token), token


def browser_session_id(*, session_key: str) -> str | None:
    """The login session of a browser's session cookie, if it was recorded."""
    if not session_key:
        return None
    sessions = LoginSession.objects.filter(session_key=session_key)
    return sessions.values_list("id", flat=True).first()


def blocked_users(*, user: User) -> QuerySet[User]:
    """The users `user` has blocked, as their directory shows them."""
    blocked = Block.objects.filter(blocker=user).values("blocked_id")
    return user_directory(viewer=user).filter(pk__in=blocked)
