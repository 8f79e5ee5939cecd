from io import StringIO

from django.core.management import CommandError, call_command
from django.test import TestCase

from catalog.tests.factories import make_category, make_product


class RestockCommandTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        category = make_category()
        cls.lamp = make_product(category, sku="LAMP-100", stock=2)
        cls.bulb = make_product(category, sku="BULB-200", stock=0)

    def run_command(self, *args, **options):
        out = StringIO()
        call_command("restock", *args, stdout=out, **options)
        return out.getvalue()

    def test_restock_adds_units(self):
        output = self.run_command("lamp-100", "BULB-200", quantity=5)
        self.lamp.refresh_from_db()
        self.bulb.refresh_from_db()
        self.assertEqual((self.lamp.stock, self.bulb.stock), (7, 5))
        self.assertIn("LAMP-100: 2 -> 7", output)
        self.assertIn("Restocked 2 product(s).", output)

    def test_dry_run_changes_nothing(self):
        output = self.run_command("LAMP-100", "--dry-run", "--quantity=3")
        self.lamp.refresh_from_db()
        self.assertEqual(self.lamp.stock, 2)
        self.assertIn("[dry run] LAMP-100: 2 -> 5", output)

    def test_invalid_arguments_are_errors(self):
        with self.assertRaisesMessage(CommandError, "Unknown SKU: NOPE-000"):
            self.run_command("LAMP-100", "NOPE-000")
        self.lamp.refresh_from_db()
        self.assertEqual(self.lamp.stock, 2)
        with self.assertRaisesMessage(CommandError, "--quantity must be a positive"):
            self.run_command("LAMP-100", quantity=0)
