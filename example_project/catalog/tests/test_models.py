from decimal import Decimal

from django.db import IntegrityError, transaction
from django.test import TestCase

from catalog.models import Product
from catalog.tests.factories import make_category, make_product


class ProductModelTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.category = make_category(name="Lighting", slug="test-lighting")
        cls.lamp = make_product(cls.category, name="Desk lamp", sku="LAMP-100", stock=4)
        cls.bulb = make_product(cls.category, name="Bulb", sku="BULB-200", stock=0)
        cls.retired = make_product(cls.category, name="Gas lamp", sku="LAMP-900", is_active=False)

    def test_str_url_and_availability(self):
        self.assertEqual(str(self.lamp), "Desk lamp (LAMP-100)")
        self.assertEqual(self.lamp.get_absolute_url(), f"/products/{self.lamp.pk}/")
        self.assertEqual(self.category.get_absolute_url(), "/?category=test-lighting")
        self.assertTrue(self.lamp.is_available)
        self.assertFalse(self.bulb.is_available)
        self.assertFalse(self.retired.is_available)

    def test_queryset_filters(self):
        products = Product.objects.using("default").filter(category=self.category)
        self.assertQuerySetEqual(
            products.active().order_by("sku"), ["BULB-200", "LAMP-100"], transform=lambda p: p.sku
        )
        self.assertQuerySetEqual(products.active().in_stock(), [self.lamp])

    def test_sku_is_unique(self):
        with self.assertRaises(IntegrityError), transaction.atomic():
            make_product(self.category, sku="LAMP-100")

    def test_related_category_follows_the_instance_database(self):
        product = Product.objects.using("default").get(pk=self.lamp.pk)
        with self.assertNumQueries(1, using="default"):
            self.assertEqual(product.category.name, "Lighting")
        self.assertEqual(product.price, Decimal("9.99"))
