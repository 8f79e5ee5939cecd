"""Settings for the example shop.

Environment variables:

``EXAMPLE_DB``
    Database backend for every alias: ``sqlite`` (default), ``postgresql`` or
    ``mysql`` (MariaDB/MySQL).
``EXAMPLE_DB_SUFFIX``
    Appended to every test database name on the server backends, so that two
    test runs can share one server. (SQLite test databases are in memory.)
``EXAMPLE_TEST_RUNNER``
    Dotted path of the test runner, e.g. ``django.test.runner.DiscoverRunner``.
"""

import copy
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "django-insecure-example-shop-demo-key-not-for-production"

DEBUG = True

ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "catalog",
    "orders",
    "ledger",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"


# Databases ------------------------------------------------------------------

SUPPORTED_DATABASES = ("sqlite", "postgresql", "mysql")

EXAMPLE_DB = os.environ.get("EXAMPLE_DB", "").strip() or "sqlite"
if EXAMPLE_DB not in SUPPORTED_DATABASES:
    raise ImproperlyConfigured(
        f"EXAMPLE_DB={EXAMPLE_DB!r} is not supported; "
        f"use one of: {', '.join(SUPPORTED_DATABASES)}."
    )

EXAMPLE_DB_SUFFIX = os.environ.get("EXAMPLE_DB_SUFFIX", "")

# Aliases that own a database; "replica" mirrors "default".
_OWN_DATABASES = {
    "default": {},
    "ledger": {"DEPENDENCIES": []},
    "audit": {"DEPENDENCIES": ["ledger"]},
}


def _server_database(alias, test_settings):
    if EXAMPLE_DB == "postgresql":
        config = {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": "127.0.0.1",
            "PORT": "5432",
            "USER": "postgres",
            "PASSWORD": "",
        }
    else:
        config = {
            "ENGINE": "django.db.backends.mysql",
            "HOST": "127.0.0.1",
            "PORT": "3306",
            "USER": "root",
            "PASSWORD": "",
            "OPTIONS": {
                "charset": "utf8mb4",
                "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
            },
        }
        test_settings = {
            "CHARSET": "utf8mb4",
            "COLLATION": "utf8mb4_unicode_ci",
            **test_settings,
        }
    config["NAME"] = f"example_{alias}"
    config["TEST"] = {"NAME": f"test_example_{alias}{EXAMPLE_DB_SUFFIX}", **test_settings}
    return config


def _sqlite_database(alias, test_settings):
    # No TEST NAME: Django then uses an in-memory database for tests.
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / f"db_{alias}.sqlite3",
        "TEST": dict(test_settings),
    }


def _build_databases():
    make = _sqlite_database if EXAMPLE_DB == "sqlite" else _server_database
    databases = {alias: make(alias, test) for alias, test in _OWN_DATABASES.items()}
    replica = copy.deepcopy(databases["default"])
    replica["TEST"] = {"MIRROR": "default"}
    return {
        "default": databases["default"],
        "replica": replica,
        "ledger": databases["ledger"],
        "audit": databases["audit"],
    }


DATABASES = _build_databases()

DATABASE_ROUTERS = ["config.routers.PrimaryReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


# Testing --------------------------------------------------------------------

TEST_RUNNER = os.environ.get("EXAMPLE_TEST_RUNNER", "").strip() or "django_testkit.TestkitRunner"


# Internationalization ---------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True


# Static files -----------------------------------------------------------------

STATIC_URL = "static/"
