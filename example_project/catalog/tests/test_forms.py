from decimal import Decimal

from django.core.exceptions import ValidationError
from django.test import SimpleTestCase

from catalog.forms import ProductForm, ProductSearchForm


class ProductSearchFormTests(SimpleTestCase):
    def test_empty_search_is_valid_and_query_is_stripped(self):
        self.assertTrue(ProductSearchForm({}).is_valid())
        form = ProductSearchForm({"q": "  lamp  "})
        self.assertTrue(form.is_valid())
        self.assertEqual(form.cleaned_data["q"], "lamp")

    def test_min_price_above_max_price_is_rejected(self):
        form = ProductSearchForm({"min_price": "20", "max_price": "10"})
        self.assertFalse(form.is_valid())
        self.assertEqual(form.non_field_errors().as_data()[0].code, "price_range")


class ProductFormFieldTests(SimpleTestCase):
    # Only invalid SKUs go through is_valid(): a valid one triggers the
    # uniqueness query. The clean_* methods are called directly otherwise.
    def make_form(self, **overrides):
        data = {"name": "Desk lamp", "sku": "lamp", "price": "19.90", "stock": "3"}
        data.update(overrides)
        return ProductForm(data)

    def clean_field(self, name, value):
        form = ProductForm()
        form.cleaned_data = {name: value}
        return getattr(form, f"clean_{name}")()

    def test_sku_is_normalized(self):
        self.assertEqual(self.clean_field("sku", " lamp_100 "), "LAMP-100")

    def test_malformed_sku_is_rejected(self):
        form = self.make_form(sku="lamp")
        self.assertFalse(form.is_valid())
        self.assertEqual(form.errors.as_data()["sku"][0].code, "invalid_sku")
        self.assertIn("category", form.errors)

    def test_price_must_be_positive(self):
        with self.assertRaises(ValidationError) as caught:
            self.clean_field("price", Decimal("0"))
        self.assertEqual(caught.exception.code, "non_positive_price")
        self.assertEqual(self.clean_field("price", Decimal("0.01")), Decimal("0.01"))

    def test_field_level_errors_without_database(self):
        form = self.make_form(price="abc", stock="-1")
        self.assertFalse(form.is_valid())
        self.assertEqual(set(form.errors), {"category", "sku", "price", "stock"})
