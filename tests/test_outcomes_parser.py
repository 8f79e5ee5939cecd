"""The parity tests stand on this parser: check it on known output."""

from __future__ import annotations

from tests.support.outcomes import Block, normalise, parse

SAMPLE = """\
Found 4 test(s).
test_a (app.tests.T.test_a) ... ok
test_b (app.tests.T.test_b) ... skipped 'later'
test_c (app.tests.T.test_c) ...
  test_c (app.tests.T.test_c) (i=1) ... FAIL
shout (app.utils)
Doctest: app.utils.shout ... expected failure

======================================================================
FAIL: test_c (app.tests.T.test_c) (i=1)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "x.py", line 3, in test_c
KeyError: 'k'

The above exception was the direct cause of the following exception:

AssertionError: 1 != 2

----------------------------------------------------------------------
Ran 4 tests in 0.012s

FAILED (failures=1, skipped=1)
"""


def test_statuses_blocks_count_and_verdict() -> None:
    outcomes = parse(SAMPLE)
    assert outcomes.statuses == [
        ("test_a (app.tests.T.test_a)", "ok"),
        ("test_b (app.tests.T.test_b)", "skipped 'later'"),
        ("test_c (app.tests.T.test_c) (i=1)", "FAIL"),
        ("Doctest: app.utils.shout", "expected failure"),
    ]
    assert outcomes.blocks == [
        Block(
            "FAIL",
            "test_c (app.tests.T.test_c) (i=1)",
            ("KeyError: 'k'", "AssertionError: 1 != 2"),
        )
    ]
    assert outcomes.ran == 4
    assert outcomes.verdict == "FAILED (failures=1, skipped=1)"


def test_order_matters_for_sequences_not_multisets() -> None:
    swapped = SAMPLE.replace(
        "test_a (app.tests.T.test_a) ... ok\ntest_b (app.tests.T.test_b) ... skipped 'later'",
        "test_b (app.tests.T.test_b) ... skipped 'later'\ntest_a (app.tests.T.test_a) ... ok",
    )
    assert parse(swapped).as_sequence() != parse(SAMPLE).as_sequence()
    assert parse(swapped).as_multiset() == parse(SAMPLE).as_multiset()


def test_normalise_blanks_times_and_addresses() -> None:
    text = "Ran 3 tests in 0.512s\n(0.001) SELECT 1\n<object object at 0x7f00ab>\ntook 2s"
    assert (
        normalise(text)
        == "Ran 3 tests in <t>s\n(<t>) SELECT 1\n<object object at 0x<addr>>\ntook <t>s"
    )
