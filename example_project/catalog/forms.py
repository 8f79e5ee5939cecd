from django import forms
from django.db import DEFAULT_DB_ALIAS

from catalog.models import Category, Product
from catalog.utils import is_valid_sku, normalize_sku


class ProductSearchForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=100)
    category = forms.SlugField(required=False)
    min_price = forms.DecimalField(required=False, min_value=0, decimal_places=2)
    max_price = forms.DecimalField(required=False, min_value=0, decimal_places=2)

    def clean_q(self):
        return self.cleaned_data["q"].strip()

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("min_price"), cleaned.get("max_price")
        if low is not None and high is not None and low > high:
            raise forms.ValidationError(
                "The minimum price cannot be above the maximum price.", code="price_range"
            )
        return cleaned


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ["category", "name", "sku", "price", "stock", "is_active", "description"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A form that leads to a write reads its choices from the primary.
        self.fields["category"].queryset = Category.objects.using(DEFAULT_DB_ALIAS)

    def clean_sku(self):
        sku = normalize_sku(self.cleaned_data["sku"])
        if not is_valid_sku(sku):
            raise forms.ValidationError(
                "A SKU is 2-5 letters, a dash and 3-6 digits, e.g. BOOK-1234.", code="invalid_sku"
            )
        return sku

    def clean_price(self):
        price = self.cleaned_data["price"]
        if price <= 0:
            raise forms.ValidationError("The price must be positive.", code="non_positive_price")
        return price
