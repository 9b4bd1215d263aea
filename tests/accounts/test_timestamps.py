"""Every timestamp the API shows, REST or socket, is written the way DRF's DateTimeField writes it,
so a client can compare them as strings."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.test import override_settings
from rest_framework.fields import DateTimeField

from accounts.payloads import timestamp

MOMENTS = [
    datetime(2026, 12, 7, 22, 13, 46, tzinfo=UTC),
    datetime(2026, 12, 7, 22, 13, 46, 123456, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/St_Johns"])
@pytest.mark.parametrize("moment", MOMENTS)
def test_a_timestamp_reads_as_drf_writes_it_in_the_server_zone(zone: str, moment: datetime) -> None:
    with override_settings(TIME_ZONE=zone):
        assert timestamp(moment) == DateTimeField().to_representation(moment)


def test_no_moment_is_null() -> None:
    assert timestamp(None) is None


def test_utc_is_written_with_z() -> None:
    assert timestamp(MOMENTS[1]) == "2026-12-07T22:13:46.123456Z"
