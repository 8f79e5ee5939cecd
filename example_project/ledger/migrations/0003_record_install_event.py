from django.db import migrations, router

INSTALL_ACTION = "ledger.installed"


def record_install(apps, schema_editor):
    AuditEvent = apps.get_model("ledger", "AuditEvent")
    db_alias = schema_editor.connection.alias
    # The ledger app spans two databases; only the audit one has this table.
    if not router.allow_migrate_model(db_alias, AuditEvent):
        return
    AuditEvent.objects.using(db_alias).create(
        action=INSTALL_ACTION, object_repr="ledger", payload={"migration": "0003"}
    )


def remove_install(apps, schema_editor):
    AuditEvent = apps.get_model("ledger", "AuditEvent")
    db_alias = schema_editor.connection.alias
    if not router.allow_migrate_model(db_alias, AuditEvent):
        return
    AuditEvent.objects.using(db_alias).filter(action=INSTALL_ACTION).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0002_auditevent"),
    ]

    operations = [
        migrations.RunPython(record_install, remove_install),
    ]
