"""Packaging glue: the wheel also carries ``django_testkit_startup.pth`` at its top level.

That file lets ``manage.py test --cov`` start coverage while Python starts instead of
running the command a second time under coverage (see ``django_testkit/cov/early.py``).
Everything else is declared in ``pyproject.toml``.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HOOK = "django_testkit_startup.pth"


class BuildWithStartupHook(build_py):
    """``build_py``, then the start-up hook beside the package."""

    def run(self) -> None:
        super().run()
        source = Path(__file__).parent / "django_testkit" / "startup.pth.in"
        self.copy_file(str(source), str(Path(self.build_lib) / HOOK))


setup(cmdclass={"build_py": BuildWithStartupHook})
