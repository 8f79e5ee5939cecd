from decimal import Decimal

from django.db import router
from django.test import TransactionTestCase

from catalog.forms import ProductForm
from catalog.models import Product
from catalog.tests.factories import make_category, make_product


class ReplicaMirrorTests(TransactionTestCase):
    databases = {"default", "replica"}
    # Flushing only these apps' tables leaves content types and permissions
    # alone, so SeededCategoriesTests can restore its serialized rows.
    available_apps = ["catalog", "orders"]

    def test_write_to_default_is_read_back_through_the_replica(self):
        written = make_product(name="Mirror", sku="MIRR-001", price=Decimal("4.20"))
        self.assertEqual(written._state.db, "default")
        self.assertEqual(router.db_for_read(Product), "replica")

        read = Product.objects.get(sku="MIRR-001")
        self.assertEqual(read._state.db, "replica")
        self.assertEqual((read.pk, read.name, read.price), (written.pk, "Mirror", Decimal("4.20")))

    def test_updates_are_visible_on_the_replica(self):
        product = make_product(sku="MIRR-002", stock=1)
        Product.objects.filter(pk=product.pk).update(stock=9)
        with self.assertNumQueries(1, using="replica"):
            self.assertEqual(Product.objects.using("replica").get(pk=product.pk).stock, 9)

    def test_product_form_saves_to_default(self):
        category = make_category()
        form = ProductForm(
            {
                "category": category.pk,
                "name": "Notebook",
                "sku": "note 123",
                "price": "2.50",
                "stock": "40",
                "is_active": "on",
            }
        )
        self.assertTrue(form.is_valid(), form.errors)
        product = form.save()
        self.assertEqual(product._state.db, "default")
        self.assertTrue(Product.objects.filter(sku="NOTE-123").exists())

    def test_product_form_rejects_a_duplicate_sku(self):
        existing = make_product(sku="DUPE-100")
        form = ProductForm(
            {
                "category": existing.category_id,
                "name": "Copy",
                "sku": "dupe-100",
                "price": "1.00",
                "stock": "1",
            }
        )
        self.assertFalse(form.is_valid())
        self.assertEqual(form.errors.as_data()["sku"][0].code, "unique")
