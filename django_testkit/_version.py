"""The version of django-testkit (read by the build, and by reports that name it)."""

__version__ = "0.1.0.dev0"
