"""Every timestamp the API shows, REST or socket, reads the way DRF's DateTimeField writes it, so a
client can compare them as strings. Payloads carry datetimes in the server's zone (api_time) and
the JSON encoder writes them (chatproject/renderers.py)."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.test import override_settings
from rest_framework.fields import DateTimeField

from accounts.payloads import api_time
from chatproject.renderers import json_bytes

MOMENTS = [
    datetime(2026, 12, 7, 22, 13, 46, tzinfo=UTC),
    datetime(2026, 12, 7, 22, 13, 46, 123456, tzinfo=UTC),
    datetime(2026, 7, 1, 9, 0, 0, 500, tzinfo=UTC),  # summer: other offsets
    datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
]


def written(moment: datetime | None) -> object:
    return json.loads(json_bytes({"at": api_time(moment)}))["at"]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/St_Johns"])
@pytest.mark.parametrize("moment", MOMENTS)
def test_a_timestamp_reads_as_drf_writes_it_in_the_server_zone(zone: str, moment: datetime) -> None:
    with override_settings(TIME_ZONE=zone):
        assert written(moment) == DateTimeField().to_representation(moment)


def test_no_moment_is_null() -> None:
    assert written(None) is None


def test_utc_is_written_with_z_and_microseconds_only_when_there_are_some() -> None:
    assert written(MOMENTS[1]) == "2026-12-07T22:13:46.123456Z"
    assert written(MOMENTS[0]) == "2026-12-07T22:13:46Z"


def test_what_utf8_cannot_hold_is_escaped_not_a_failure() -> None:
    assert json.loads(json_bytes({"echo": "\ud800"})) == {"echo": "\ud800"}
