"""Database routing for the example shop.

* ``catalog`` is read-heavy: reads go to ``replica`` (unless the query follows
  a relation from an instance, which stays on that instance's database), and
  writes go to ``default``.
* ``ledger`` models live in the ``ledger`` database, except ``AuditEvent``
  which lives in ``audit``.
* Everything else (``orders`` and the contrib apps) lives in ``default``.
* Nothing is ever migrated on ``replica``: it is a copy of ``default``.
"""

PRIMARY = "default"
REPLICA = "replica"
LEDGER = "ledger"
AUDIT = "audit"

READ_FROM_REPLICA_APPS = frozenset({"catalog"})
LEDGER_APP = "ledger"
AUDIT_MODEL = "auditevent"

# Databases holding the same data: relations between their objects are fine.
PRIMARY_GROUP = frozenset({PRIMARY, REPLICA})


def home_database(app_label, model_name):
    """The alias whose database holds the table of ``app_label.model_name``."""
    if app_label == LEDGER_APP:
        return AUDIT if model_name == AUDIT_MODEL else LEDGER
    return PRIMARY


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        meta = model._meta
        if meta.app_label in READ_FROM_REPLICA_APPS:
            instance = hints.get("instance")
            if instance is not None and instance._state.db:
                return instance._state.db
            return REPLICA
        return home_database(meta.app_label, meta.model_name)

    def db_for_write(self, model, **hints):
        meta = model._meta
        return home_database(meta.app_label, meta.model_name)

    def allow_relation(self, obj1, obj2, **hints):
        db1, db2 = obj1._state.db, obj2._state.db
        if db1 in PRIMARY_GROUP and db2 in PRIMARY_GROUP:
            return True
        return db1 == db2

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db == REPLICA:
            return False
        if model_name is None:
            # Operations without a model (RunPython, RunSQL): allow them on
            # any database the app has tables in; RunPython code checks the
            # model itself with router.allow_migrate_model().
            if app_label == LEDGER_APP:
                return db in (LEDGER, AUDIT)
            return db == PRIMARY
        return db == home_database(app_label, model_name)
