"""Read-side queries for the catalog; these go through the router (to the replica)."""

from django.db.models import Q

from catalog.models import Product


def active_products(category_slug=None, search=None, min_price=None, max_price=None):
    products = Product.objects.active().select_related("category")
    if category_slug:
        products = products.filter(category__slug=category_slug)
    if search:
        products = products.filter(Q(name__icontains=search) | Q(sku__icontains=search))
    if min_price is not None:
        products = products.filter(price__gte=min_price)
    if max_price is not None:
        products = products.filter(price__lte=max_price)
    return products
