"""Helpers creating catalog rows; writes go to the primary (``default``)."""

import itertools
from decimal import Decimal

from catalog.models import Category, Product

_counter = itertools.count(1)


def make_category(name=None, slug=None):
    number = next(_counter)
    name = name or f"Test Category {number}"
    return Category.objects.create(name=name, slug=slug or f"test-category-{number}")


def make_product(category=None, **fields):
    number = next(_counter)
    values = {
        "name": f"Test Product {number}",
        "sku": f"TEST-{number:04d}",
        "price": Decimal("9.99"),
        "stock": 10,
        "is_active": True,
    }
    values.update(fields)
    return Product.objects.create(category=category or make_category(), **values)
