"""stacks: a timeout report shows the test's frames and the project's threads, not the runner's."""

from __future__ import annotations

from django_testkit.parallel.stacks import Frames, trim

FRAMES = Frames(
    machinery=(
        "/venv/django_testkit/",
        "/py/unittest/",
        "/py/multiprocessing/",
        "/py/threading.py",
    ),
    stdlib=("/py/",),
)

DUMP = """Timeout (0:00:05)!
Thread 0x0000000000000002 (most recent call first):
  File "/venv/django_testkit/parallel/worker.py", line 168 in _exit_with_parent
  File "/py/threading.py", line 982 in run
  File "/py/threading.py", line 1002 in _bootstrap

Thread 0x0000000000000003 (most recent call first):
  File "/py/socket.py", line 10 in recv
  File "/srv/shop/poller.py", line 7 in poll
  File "/py/threading.py", line 982 in run

Thread 0x0000000000000001 (most recent call first):
  File "/venv/site-packages/requests/api.py", line 59 in get
  File "/srv/shop/tests/test_api.py", line 12 in test_fetch
  File "/py/unittest/case.py", line 579 in _callTestMethod
  File "/py/unittest/case.py", line 623 in run
  File "/venv/django_testkit/parallel/worker.py", line 258 in main
  File "/py/multiprocessing/process.py", line 108 in run
"""


def test_the_tests_thread_comes_first_down_to_the_test_then_the_projects_threads() -> None:
    assert trim(DUMP, FRAMES).splitlines() == [
        "Timeout (0:00:05)!",
        "Thread 0x0000000000000001 (most recent call first):",
        '  File "/venv/site-packages/requests/api.py", line 59 in get',
        '  File "/srv/shop/tests/test_api.py", line 12 in test_fetch',
        "",
        "Thread 0x0000000000000003 (most recent call first):",
        '  File "/py/socket.py", line 10 in recv',
        '  File "/srv/shop/poller.py", line 7 in poll',
        '  File "/py/threading.py", line 982 in run',
        "(4 frames of the test runner and 1 thread of its own not shown; -v 3 shows them)",
    ]


def test_everything_is_shown_when_asked() -> None:
    assert trim(DUMP, FRAMES, everything=True) == DUMP


def test_a_dump_without_a_test_thread_keeps_the_projects_threads() -> None:
    dump = "Timeout (0:00:05)!\nThread 0x1 (most recent call first):\n  <no Python frame>\n"
    assert trim(dump, FRAMES).splitlines() == [
        "Timeout (0:00:05)!",
        "(1 thread of its own not shown; -v 3 shows them)",
    ]
