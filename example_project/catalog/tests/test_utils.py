from decimal import Decimal

from django.test import SimpleTestCase

from catalog.utils import format_price, is_valid_sku, normalize_sku, parse_price


class SkuHelperTests(SimpleTestCase):
    def test_normalize_sku(self):
        self.assertEqual(normalize_sku("  book-1234 "), "BOOK-1234")
        self.assertEqual(normalize_sku("toy_ 0042"), "TOY-0042")
        self.assertEqual(normalize_sku("toy--0042"), "TOY-0042")

    def test_is_valid_sku(self):
        self.assertTrue(is_valid_sku("BOOK-1234"))
        self.assertFalse(is_valid_sku("B-1"))
        self.assertFalse(is_valid_sku("book-1234"))


class PriceHelperTests(SimpleTestCase):
    def test_format_price_rounds_to_cents_and_groups_thousands(self):
        self.assertEqual(format_price(Decimal("1234.5")), "1,234.50 EUR")
        self.assertEqual(format_price("3", currency="USD"), "3.00 USD")

    def test_parse_price(self):
        self.assertEqual(parse_price("1,299.5 EUR"), Decimal("1299.50"))
        self.assertIsNone(parse_price("twelve"))
