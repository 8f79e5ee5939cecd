"""Unit tests of the run lock's pure parts: the holder line, the refusal message, the
names and keys locks are taken under."""

from __future__ import annotations

import time

from django_testkit.databases.holders import APPLICATION_NAME_MAX, Holder, in_use_message
from django_testkit.databases.serverlocks import _advisory_key, _lock_name


def test_holder_line_round_trips_and_fits_application_name() -> None:
    holder = Holder(4242, "ci-7", 1_764_597_731.5)
    assert holder.encode() == "django-testkit 4242 1764597731 ci-7"
    assert Holder.parse(f"SELECT SLEEP(1) /* lock 9: {holder.encode()} */") == Holder(
        4242, "ci-7", 1_764_597_731.0
    )
    long_host = Holder(4194304, "runner-" + "x" * 80 + ".example.com", 1_764_597_731)
    encoded = long_host.encode()
    assert len(encoded) == APPLICATION_NAME_MAX
    assert Holder.parse(encoded) is not None


def test_odd_host_names_are_made_safe_and_garbage_parses_to_none() -> None:
    assert Holder(1, "büro host*/", 0).encode() == "django-testkit 1 0 b-ro-host--"
    assert Holder.parse("psql") is None
    assert Holder.parse(None) is None


def test_message_names_the_holder_and_the_fix() -> None:
    started = time.mktime((2026, 12, 1, 14, 2, 11, 0, 0, -1))
    holder = Holder(4242, "ci-7", started)
    assert holder.describe(now=started + 60) == "pid 4242 on host ci-7, started 14:02:11"
    assert holder.describe(now=started + 3 * 86400) == (
        "pid 4242 on host ci-7, started 2026-12-01 14:02:11"
    )
    message = in_use_message(holder, "test_shop on 127.0.0.1:5432")
    assert message.startswith("Another test run (pid 4242 on host ci-7, started ")
    assert message.endswith(
        " is using test_shop on 127.0.0.1:5432; wait for it, or give this run its own "
        "databases with --db-suffix."
    )
    assert in_use_message(None, "test_shop on db:5432") == (
        "Another test run is using test_shop on db:5432; wait for it, or give this run its "
        "own databases with --db-suffix."
    )


def test_lock_names_and_keys() -> None:
    assert _lock_name("test_shop") == "django-testkit:test_shop"
    assert len(_lock_name("t" * 64)) <= 64
    assert _lock_name("t" * 64) != _lock_name("t" * 63 + "u")
    first, second = _advisory_key("test_shop")
    assert 0 <= first < 2**31
    assert 0 <= second < 2**31
    assert _advisory_key("test_shop") != _advisory_key("test_shop_jobA")
