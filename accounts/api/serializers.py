from typing import Any

from rest_framework import serializers

from accounts.models import LOGIN_PATTERN, LoginSession, User, UserStatus
from accounts.payloads import user_payload
from chatproject.serializers import StrictSerializer


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ("id", "login", "name", "status", "last_seen", "created", "updated")
        read_only_fields = fields

    def to_representation(self, user: User) -> dict[str, Any]:
        # The directory (accounts.selectors.user_directory) says whose presence the viewer may
        # see; a user read any other way is the viewer themself.
        return user_payload(user, presence=getattr(user, "shares_chat", True))


class UserBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ("id", "name")
        read_only_fields = fields


class RegisterSerializer(StrictSerializer):
    login = serializers.RegexField(LOGIN_PATTERN, max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
    name = serializers.CharField(min_length=1, max_length=150)
    invite = serializers.CharField(
        max_length=32,
        required=False,
        default="",
        write_only=True,
        help_text="An invite code, when the server's REGISTRATION is `invite`.",
    )


class UserUpdateSerializer(StrictSerializer):
    name = serializers.CharField(min_length=1, max_length=150, required=False)
    status = serializers.ChoiceField(choices=UserStatus.choices, required=False)


class PasswordChangeSerializer(StrictSerializer):
    old_password = serializers.CharField(max_length=128, trim_whitespace=False)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False)


class TokenObtainSerializer(StrictSerializer):
    """JSON `{login, password}`, or the OAuth2 password grant's form fields."""

    login = serializers.CharField(max_length=150, required=False)
    username = serializers.CharField(
        max_length=150, required=False, help_text="OAuth2 name for login."
    )
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    grant_type = serializers.ChoiceField(choices=["password"], required=False)
    scope = serializers.CharField(max_length=200, required=False, allow_blank=True)
    client_id = serializers.CharField(max_length=200, required=False, allow_blank=True)
    client_secret = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, str]) -> dict[str, str]:
        login = attrs.get("login") or attrs.get("username")
        if not login:
            raise serializers.ValidationError({"login": ["This field is required."]})
        return {"login": login, "password": attrs["password"]}


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    token_type = serializers.ChoiceField(choices=["bearer"])
    access_token = serializers.CharField(help_text="The access token again, under its OAuth2 name.")
    expires_in = serializers.IntegerField(help_text="Seconds until the access token expires.")


class RefreshSerializer(StrictSerializer):
    refresh = serializers.CharField(max_length=4096)


class LoginSessionSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField(help_text="The session of this request.")

    class Meta:
        model = LoginSession
        fields = ("id", "created", "last_used", "user_agent", "ip", "current")
        read_only_fields = fields

    def get_current(self, session: LoginSession) -> bool:
        return bool(session.pk == self.context.get("current_id"))
