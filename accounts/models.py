import secrets
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower

LOGIN_PATTERN = r"^[A-Za-z0-9_.-]{3,150}$"
login_validator = RegexValidator(
    LOGIN_PATTERN, "Use 3 to 150 characters: letters, digits, '_', '.' or '-'."
)


class UserStatus(models.TextChoices):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> "User":
        # Logins are unique case-insensitively, so they are looked up that way too.
        return self.get(login__iexact=username)

    def create_user(self, login: str, password: str | None = None, **fields: Any) -> "User":
        user = self.model(login=login, **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, login: str, password: str | None = None, **fields: Any) -> "User":
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(login, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    login = models.CharField(max_length=150, unique=True, validators=[login_validator])
    name = models.CharField(max_length=150)
    status = models.CharField(max_length=8, choices=UserStatus.choices, default=UserStatus.OFFLINE)
    last_seen = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    # The change counter of the user's own list of chats and settings (chats' change feeds).
    user_version = models.BigIntegerField(default=0, editable=False)
    # Credentials from before this moment are void: tokens issued, sockets opened. Moved by every
    # password change and deactivation, however it is made (accounts/credentials.py).
    credentials_valid_after = models.DateTimeField(null=True, blank=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects: ClassVar[UserManager] = UserManager()
    # (password hash, is_active) as last read or saved; (None, None) for a user not from the
    # database. Not a field.
    stored_credentials: tuple[str | None, bool | None] = (None, None)

    USERNAME_FIELD = "login"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["name"]

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(Lower("login"), name="user_login_ci_unique"),
        ]
        permissions: ClassVar = [
            # Not change_user: its form edits is_staff, is_superuser and groups.
            ("ban_user", "Can ban and unban users"),
        ]

    def __str__(self) -> str:
        return self.login

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> "User":
        """Remembers the password hash and active flag as stored, so that a save can tell
        whether it changed them (accounts/credentials.py)."""
        user = super().from_db(db, field_names, values)
        user.stored_credentials = (user.__dict__.get("password"), user.__dict__.get("is_active"))
        return user


class LoginSessionKind(models.TextChoices):
    TOKEN = "token"  # noqa: S105  (a kind, no secret): a POST /api/auth/token/ and its refreshes
    BROWSER = "browser"  # a session cookie: the demo pages' sign-in, the admin's


class LoginSession(models.Model):
    """One sign-in and everything that follows from it. Its id is the `sid` of every token it
    issues, and the name of its sockets' group. Ending it voids its tokens (each request checks
    `ended`), deletes its browser session and closes its sockets (accounts/services.py)."""

    id = models.CharField(primary_key=True, max_length=64)
    user = models.ForeignKey("User", on_delete=models.CASCADE, related_name="login_sessions")
    kind = models.CharField(max_length=8, choices=LoginSessionKind.choices)
    # A browser session's key in the session store, to end it there. Never shown to anyone.
    session_key = models.CharField(max_length=40, blank=True, db_index=True)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField()
    expires = models.DateTimeField()  # when its refresh token or cookie lapses, unless used
    ended = models.DateTimeField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(
                fields=["user", "expires"],
                condition=models.Q(ended__isnull=True),
                name="login_session_live",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} session of {self.user_id}"


class Block(models.Model):
    """`blocker` does not want `blocked` to reach them: no direct chat, no adding them to a chat, no
    direct message (chats.services.access.require_not_blocked)."""

    blocker = models.ForeignKey("User", on_delete=models.CASCADE, related_name="+")
    blocked = models.ForeignKey("User", on_delete=models.CASCADE, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="block_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocks {self.blocked_id}"


def _invite_code() -> str:
    return secrets.token_urlsafe(12)


class InviteCode(models.Model):
    """Lets people register while REGISTRATION is `invite`: made by staff in the admin, good for
    `max_uses` registrations until `expires`."""

    code = models.CharField(max_length=32, unique=True, default=_invite_code)
    created_by = models.ForeignKey(
        "User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    max_uses = models.PositiveIntegerField(default=1)
    uses = models.PositiveIntegerField(default=0, editable=False)
    expires = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True, help_text="Who it is for.")
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"invite {self.code} ({self.uses}/{self.max_uses})"


class IdempotencyRecord(models.Model):
    """A write that a user sent with an Idempotency-Key, and the answer it got: the same key again
    gets that answer and changes nothing (chatproject/idempotency.py). Kept for 24 hours."""

    user = models.ForeignKey("User", on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=64)
    fingerprint = models.CharField(max_length=64)  # of the method, path and data
    status_code = models.PositiveSmallIntegerField()
    body = models.TextField(blank=True)  # the answer's JSON, "" for none
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints: ClassVar = [
            # Also the index that finds a user's key.
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"
