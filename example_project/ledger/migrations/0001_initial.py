from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="LedgerEntry",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("order_ref", models.PositiveBigIntegerField(db_index=True)),
                (
                    "account",
                    models.CharField(
                        choices=[
                            ("sales", "Sales"),
                            ("refunds", "Refunds"),
                            ("receivable", "Receivable"),
                        ],
                        max_length=20,
                    ),
                ),
                ("amount", models.DecimalField(decimal_places=2, max_digits=12)),
                ("memo", models.CharField(blank=True, max_length=200)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "verbose_name_plural": "ledger entries",
                "ordering": ["pk"],
            },
        ),
    ]
