"""What checking an access token costs per request: SimpleJWT's own check (signature, expiry,
the user read, active, password unchanged) against ours (the same, plus credentials revoked
after the token and its login session ended, in the same query). Run with the benchmark's
environment (a PostgreSQL DATABASE_URL); prints one JSON object.

    python bench/auth_check.py [ROUNDS]
"""

import json
import os
import statistics
import sys
import time
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
django.setup()

from django.db import connection  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework_simplejwt.authentication import JWTAuthentication  # noqa: E402

from accounts.credentials import CredentialsJWTAuthentication  # noqa: E402
from accounts.models import User  # noqa: E402
from accounts.services import tokens_issue  # noqa: E402

CHECKS_PER_ROUND = 2_000


def per_check_us(authentication: Any, request: Request) -> float:
    started = time.perf_counter()
    for _ in range(CHECKS_PER_ROUND):
        authentication.authenticate(request)
    return (time.perf_counter() - started) / CHECKS_PER_ROUND * 1e6


def main(rounds: int) -> dict[str, Any]:
    user, _ = User.objects.get_or_create(login="bench-auth", defaults={"name": "Bench"})
    access = tokens_issue(user=user)["access"]
    request = Request(RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {access}"))
    ways = {"simplejwt": JWTAuthentication(), "ours": CredentialsJWTAuthentication()}
    for authentication in ways.values():  # warm: connection, caches
        per_check_us(authentication, request)
    figures: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(rounds):  # alternating, so drift hits both alike
        for name, authentication in ways.items():
            figures[name].append(per_check_us(authentication, request))
    queries = {}
    for name, authentication in ways.items():
        with CaptureQueriesContext(connection) as captured:
            authentication.authenticate(request)
        queries[name] = len(captured)
    medians = {name: round(statistics.median(values), 1) for name, values in figures.items()}
    return {
        "checks": CHECKS_PER_ROUND * rounds,
        "us_per_check_median": medians,
        "extra_us": round(medians["ours"] - medians["simplejwt"], 1),
        "queries_per_check": queries,
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)))
