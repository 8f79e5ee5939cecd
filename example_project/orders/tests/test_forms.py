from decimal import Decimal

from catalog.tests.factories import make_category, make_product
from django.test import SimpleTestCase, TestCase

from orders.forms import OrderForm


class OrderFormFieldTests(SimpleTestCase):
    # No product is given, so validation never needs the database.
    def make_form(self, **overrides):
        data = {"customer_email": "Ann@Example.COM", "quantity": "2", "note": "  ring twice "}
        data.update(overrides)
        return OrderForm(data)

    def test_email_is_normalized_and_note_stripped(self):
        form = self.make_form()
        self.assertFalse(form.is_valid())
        self.assertEqual(set(form.errors), {"product"})
        self.assertEqual(form.cleaned_data["customer_email"], "ann@example.com")
        self.assertEqual(form.cleaned_data["note"], "ring twice")

    def test_blocked_email_domain_is_rejected(self):
        form = self.make_form(customer_email="bot@mailinator.com")
        self.assertFalse(form.is_valid())
        self.assertEqual(form.errors.as_data()["customer_email"][0].code, "blocked_domain")

    def test_quantity_bounds(self):
        self.assertIn("quantity", self.make_form(quantity="0").errors)
        self.assertIn("quantity", self.make_form(quantity="101").errors)
        self.assertNotIn("quantity", self.make_form(quantity="100").errors)


class OrderFormStockTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        category = make_category()
        cls.kettle = make_product(category, name="Kettle", sku="KETL-100", stock=3)
        cls.retired = make_product(category, name="Fax", sku="FAX-300", is_active=False)

    def make_form(self, product, quantity):
        return OrderForm(
            {"customer_email": "ann@example.com", "product": product.pk, "quantity": quantity}
        )

    def test_valid_order(self):
        form = self.make_form(self.kettle, 3)
        self.assertTrue(form.is_valid(), form.errors)
        self.assertEqual(form.cleaned_data["product"].price, Decimal("9.99"))

    def test_quantity_above_stock_is_rejected(self):
        form = self.make_form(self.kettle, 4)
        self.assertFalse(form.is_valid())
        self.assertEqual(form.errors["quantity"], ["Only 3 left in stock."])

    def test_inactive_product_is_not_a_choice(self):
        form = self.make_form(self.retired, 1)
        self.assertFalse(form.is_valid())
        self.assertEqual(form.errors.as_data()["product"][0].code, "invalid_choice")
