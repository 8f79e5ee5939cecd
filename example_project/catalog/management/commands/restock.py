from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, transaction

from catalog.models import Product
from catalog.utils import normalize_sku


class Command(BaseCommand):
    help = "Add stock to products identified by SKU."

    def add_arguments(self, parser):
        parser.add_argument("skus", nargs="+", metavar="SKU", help="SKUs of the products.")
        parser.add_argument(
            "-q", "--quantity", type=int, default=10, help="Units to add to each product."
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database to write to.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Report the new stock without saving it."
        )

    def handle(self, *args, **options):
        quantity = options["quantity"]
        if quantity <= 0:
            raise CommandError("--quantity must be a positive number of units.")
        database = options["database"]
        dry_run = options["dry_run"]
        skus = sorted({normalize_sku(sku) for sku in options["skus"]})

        with transaction.atomic(using=database):
            products = {
                product.sku: product
                for product in Product.objects.using(database)
                .select_for_update()
                .filter(sku__in=skus)
            }
            missing = [sku for sku in skus if sku not in products]
            if missing:
                raise CommandError(f"Unknown SKU: {', '.join(missing)}")
            for sku in skus:
                product = products[sku]
                old_stock = product.stock
                product.stock = old_stock + quantity
                if not dry_run:
                    product.save(update_fields=["stock"])
                prefix = "[dry run] " if dry_run else ""
                self.stdout.write(f"{prefix}{sku}: {old_stock} -> {product.stock}")

        verb = "Would restock" if dry_run else "Restocked"
        self.stdout.write(self.style.SUCCESS(f"{verb} {len(skus)} product(s)."))
