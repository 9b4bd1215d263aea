from django.db.models import Q, QuerySet
from rest_framework_simplejwt.tokens import Token

from accounts.credentials import CredentialsJWTAuthentication
from accounts.models import User


def user_list(*, search: str = "") -> QuerySet[User]:
    users = User.objects.filter(is_active=True)
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
