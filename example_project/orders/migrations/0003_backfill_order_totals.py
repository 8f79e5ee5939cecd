from decimal import Decimal

from django.db import migrations, router


def backfill_totals(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    OrderLine = apps.get_model("orders", "OrderLine")
    db_alias = schema_editor.connection.alias
    if not router.allow_migrate_model(db_alias, Order):
        return
    for order in Order.objects.using(db_alias).filter(total=Decimal("0.00")):
        lines = OrderLine.objects.using(db_alias).filter(order=order)
        total = sum((line.quantity * line.unit_price for line in lines), Decimal("0.00"))
        if total:
            order.total = total
            order.save(using=db_alias, update_fields=["total"])


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0002_order_note_and_index"),
    ]

    operations = [
        # Reversing leaves the computed totals in place.
        migrations.RunPython(backfill_totals, migrations.RunPython.noop),
    ]
