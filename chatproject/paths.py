"""What every URL configuration and viewset matches an id in a path with."""

# The digits of a positive bigint: a longer id would overflow the database's bigint (a 500), so
# the path does not match at all (a 404).
ID_PATTERN = r"[0-9]{1,18}"


def id_group(name: str) -> str:
    return rf"(?P<{name}>{ID_PATTERN})"
