"""Creates the demo logins that `make run` prints, so a new user can sign in at once."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User

DEMO_USERS = (
    # login, name, staff: the first one can open the admin too.
    ("demo", "Demo User", True),
    ("demo2", "Second Demo", False),
)
DEMO_PASSWORD = "demo-password"  # noqa: S105 - printed on purpose; refused outside DEBUG


class Command(BaseCommand):
    help = "Create the demo logins (DEBUG only). Existing ones are left as they are."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("Demo logins with a known password exist only with DEBUG on.")
        for login, name, staff in DEMO_USERS:
            if User.objects.filter(login__iexact=login).exists():
                continue
            User.objects.create_user(
                login, DEMO_PASSWORD, name=name, is_staff=staff, is_superuser=staff
            )
        logins = " and ".join(login for login, _, _ in DEMO_USERS)
        self.stdout.write(f"Demo logins: {logins}, password '{DEMO_PASSWORD}'")
