import json
from decimal import Decimal
from types import SimpleNamespace
from unittest import mock

from django.test import RequestFactory, SimpleTestCase, TransactionTestCase
from django.urls import reverse

from catalog import views
from catalog.tests.factories import make_category, make_product


class CatalogViewUnitTests(SimpleTestCase):
    def setUp(self):
        self.factory = RequestFactory()

    def test_health(self):
        response = views.health(self.factory.get("/health/"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(json.loads(response.content), {"status": "ok", "service": "example-shop"})

    def test_product_list_passes_search_to_selector(self):
        product = SimpleNamespace(
            pk=7,
            name="Garden hose",
            sku="HOSE-777",
            price=Decimal("12.50"),
            category=SimpleNamespace(name="Garden"),
        )
        request = self.factory.get("/", {"q": " hose ", "category": "garden"})
        with mock.patch.object(views, "active_products", return_value=[product]) as selector:
            response = views.product_list(request)
        selector.assert_called_once_with(
            category_slug="garden", search="hose", min_price=None, max_price=None
        )
        self.assertContains(response, "Garden hose")
        self.assertContains(response, 'href="/products/7/"')

    def test_product_list_with_invalid_range_skips_the_query(self):
        request = self.factory.get("/", {"min_price": "5", "max_price": "1"})
        with mock.patch.object(views, "active_products") as selector:
            response = views.product_list(request)
        selector.assert_not_called()
        self.assertContains(response, "The minimum price cannot be above the maximum price.")
        self.assertContains(response, "No products found.")


class CatalogPageTests(TransactionTestCase):
    # Catalog reads go to the replica, which only sees committed rows.
    databases = {"default", "replica"}
    # Flushing only these apps' tables leaves content types and permissions
    # alone, so SeededCategoriesTests can restore its serialized rows.
    available_apps = ["catalog", "orders"]

    def setUp(self):
        self.kitchen = make_category(name="Kitchen", slug="test-kitchen")
        self.office = make_category(name="Office", slug="test-office")
        self.kettle = make_product(self.kitchen, name="Kettle", sku="KETL-100", price="30.00")
        self.stapler = make_product(self.office, name="Stapler", sku="STPL-200", price="8.00")
        self.retired = make_product(
            self.office, name="Fax machine", sku="FAX-300", is_active=False
        )

    def test_product_list_shows_and_filters_active_products(self):
        response = self.client.get(reverse("catalog:product_list"))
        self.assertContains(response, "Kettle")
        self.assertContains(response, "Stapler")
        self.assertNotContains(response, "Fax machine")
        response = self.client.get(reverse("catalog:product_list"), {"category": "test-office"})
        self.assertEqual([p.sku for p in response.context["products"]], ["STPL-200"])
        response = self.client.get(reverse("catalog:product_list"), {"max_price": "10"})
        self.assertEqual([p.sku for p in response.context["products"]], ["STPL-200"])

    def test_product_detail(self):
        response = self.client.get(self.kettle.get_absolute_url())
        self.assertContains(response, "<h2>Kettle</h2>", html=True)
        self.assertContains(response, f"?product={self.kettle.pk}")
        self.assertEqual(response.context["product"]._state.db, "replica")

    def test_inactive_product_detail_is_404(self):
        response = self.client.get(self.retired.get_absolute_url())
        self.assertEqual(response.status_code, 404)
