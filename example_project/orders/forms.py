from catalog.models import Product
from django import forms
from django.db import DEFAULT_DB_ALIAS

from orders.models import Order
from orders.services import MAX_LINE_QUANTITY

BLOCKED_EMAIL_DOMAINS = frozenset({"example.invalid", "mailinator.com"})


class OrderForm(forms.ModelForm):
    product = forms.ModelChoiceField(
        queryset=Product.objects.none(), empty_label="Choose a product"
    )
    quantity = forms.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY, initial=1)

    class Meta:
        model = Order
        fields = ["customer_email", "note"]
        widgets = {"note": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Placing an order writes; read the products (and their stock) from the primary.
        self.fields["product"].queryset = (
            Product.objects.using(DEFAULT_DB_ALIAS).active().order_by("name")
        )

    def clean_customer_email(self):
        email = self.cleaned_data["customer_email"].strip().lower()
        domain = email.rpartition("@")[2]
        if domain in BLOCKED_EMAIL_DOMAINS:
            raise forms.ValidationError(
                "Orders from this e-mail domain are not accepted.", code="blocked_domain"
            )
        return email

    def clean_note(self):
        return self.cleaned_data["note"].strip()

    def clean(self):
        cleaned = super().clean()
        product, quantity = cleaned.get("product"), cleaned.get("quantity")
        if product is not None and quantity is not None and quantity > product.stock:
            self.add_error("quantity", f"Only {product.stock} left in stock.")
        return cleaned
