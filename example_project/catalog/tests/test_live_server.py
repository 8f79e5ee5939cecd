import json
from urllib.request import urlopen

from django.test import LiveServerTestCase
from django.urls import reverse

from catalog.tests.factories import make_category, make_product


class LiveCatalogTests(LiveServerTestCase):
    databases = {"default", "replica"}
    # Flushing only these apps' tables leaves content types and permissions
    # alone, so SeededCategoriesTests can restore its serialized rows.
    available_apps = ["catalog", "orders"]

    def fetch(self, path):
        with urlopen(f"{self.live_server_url}{path}", timeout=10) as response:
            return response.status, response.headers.get_content_type(), response.read().decode()

    def test_product_list_page(self):
        category = make_category(name="Outdoor", slug="test-outdoor")
        make_product(category, name="Camping stove", sku="STOV-100")
        status, content_type, body = self.fetch(reverse("catalog:product_list"))
        self.assertEqual((status, content_type), (200, "text/html"))
        self.assertIn("<title>Products | Example Shop</title>", body)
        self.assertIn("Camping stove", body)
        self.assertIn("STOV-100", body)

    def test_health_endpoint(self):
        status, content_type, body = self.fetch(reverse("catalog:health"))
        self.assertEqual((status, content_type), (200, "application/json"))
        self.assertEqual(json.loads(body)["status"], "ok")
