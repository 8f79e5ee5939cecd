from decimal import Decimal

from catalog.tests.factories import make_category, make_product
from django.test import TestCase
from django.urls import reverse

from orders.models import Order
from orders.services import place_order


class OrderViewTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        category = make_category()
        cls.kettle = make_product(
            category, name="Kettle", sku="KETL-100", price=Decimal("30.00"), stock=5
        )
        cls.url = reverse("orders:order_create")

    def post_order(self, **overrides):
        data = {"customer_email": "ann@example.com", "product": self.kettle.pk, "quantity": "2"}
        data.update(overrides)
        return self.client.post(self.url, data)

    def test_form_lists_active_products(self):
        response = self.client.get(self.url, {"product": self.kettle.pk})
        self.assertContains(response, "Kettle")
        self.assertEqual(response.context["form"].initial["product"], self.kettle.pk)

    def test_valid_post_places_order_and_redirects(self):
        response = self.client.post(
            self.url,
            {"customer_email": "Ann@Example.com", "product": self.kettle.pk, "quantity": "2"},
            follow=True,
        )
        order = Order.objects.get()
        self.assertRedirects(response, order.get_absolute_url())
        self.assertContains(response, f"Order #{order.pk} has been placed.")
        self.assertEqual(order.total, Decimal("60.00"))
        self.assertEqual(order.customer_email, "ann@example.com")

    def test_invalid_post_shows_errors(self):
        response = self.post_order(customer_email="not-an-email", quantity="9")
        self.assertEqual(response.status_code, 200)
        self.assertFormError(response.context["form"], "quantity", "Only 5 left in stock.")
        self.assertIn("customer_email", response.context["form"].errors)
        self.assertFalse(Order.objects.exists())

    def test_order_detail(self):
        order = place_order("bob@example.com", [(self.kettle.pk, 3)])
        response = self.client.get(order.get_absolute_url())
        self.assertContains(response, "KETL-100")
        self.assertContains(response, "Total: 90.00 EUR")
        self.assertContains(response, "Status: Pending")

    def test_missing_order_is_404(self):
        response = self.client.get(reverse("orders:order_detail", args=[999999]))
        self.assertEqual(response.status_code, 404)
