"""Order placement and life cycle."""

from decimal import Decimal

from catalog.models import Product
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import F

from orders.models import Order, OrderLine, OrderStatus
from orders.signals import order_placed

CENT = Decimal("0.01")
BULK_DISCOUNT_THRESHOLD = Decimal("1000.00")
BULK_DISCOUNT_RATE = Decimal("0.05")
MAX_LINE_QUANTITY = 100


class OrderError(Exception):
    pass


class OutOfStock(OrderError):
    pass


class InvalidTransition(OrderError):
    pass


def apply_bulk_discount(subtotal):
    subtotal = Decimal(subtotal).quantize(CENT)
    if subtotal >= BULK_DISCOUNT_THRESHOLD:
        discount = (subtotal * BULK_DISCOUNT_RATE).quantize(CENT)
        return subtotal - discount
    return subtotal


def compute_order_total(order):
    subtotal = sum(
        (line.quantity * line.unit_price for line in order.lines.all()), Decimal("0.00")
    )
    return apply_bulk_discount(subtotal)


def _merge_items(items):
    quantities = {}
    for product_id, quantity in items:
        if quantity <= 0 or quantity > MAX_LINE_QUANTITY:
            raise OrderError(f"Quantity must be between 1 and {MAX_LINE_QUANTITY}.")
        quantities[product_id] = quantities.get(product_id, 0) + quantity
    if not quantities:
        raise OrderError("An order needs at least one line.")
    return quantities


def place_order(customer_email, items, note=""):
    """Create an order for ``items`` (pairs of product id and quantity).

    Stock is checked and decremented under row locks, so concurrent orders
    cannot oversell; either the whole order is placed or nothing changes.
    """
    quantities = _merge_items(items)
    with transaction.atomic(using=DEFAULT_DB_ALIAS):
        products = {
            product.pk: product
            for product in Product.objects.using(DEFAULT_DB_ALIAS)
            .select_for_update()
            .filter(pk__in=list(quantities), is_active=True)
            .order_by("pk")
        }
        missing = sorted(set(quantities) - set(products))
        if missing:
            raise OrderError(f"Unknown or inactive product(s): {missing}")

        order = Order.objects.create(customer_email=customer_email, note=note)
        for product_id in sorted(quantities):
            product = products[product_id]
            quantity = quantities[product_id]
            if product.stock < quantity:
                raise OutOfStock(f"Only {product.stock} of {product.sku} left in stock.")
            product.stock -= quantity
            product.save(update_fields=["stock"])
            OrderLine.objects.create(
                order=order, product=product, quantity=quantity, unit_price=product.price
            )
        order.total = compute_order_total(order)
        order.save(update_fields=["total"])
        transaction.on_commit(
            lambda: order_placed.send(sender=Order, order=order), using=DEFAULT_DB_ALIAS
        )
    return order


def mark_paid(order):
    if order.status != OrderStatus.PENDING:
        raise InvalidTransition(f"Only pending orders can be paid, not {order.status} ones.")
    order.status = OrderStatus.PAID
    order.save(update_fields=["status"])
    return order


def cancel_order(order):
    """Cancel an order and put its units back in stock."""
    if order.status == OrderStatus.SHIPPED:
        raise InvalidTransition("Shipped orders cannot be cancelled.")
    if order.status == OrderStatus.CANCELLED:
        return order
    with transaction.atomic(using=DEFAULT_DB_ALIAS):
        for line in order.lines.all():
            Product.objects.using(DEFAULT_DB_ALIAS).filter(pk=line.product_id).update(
                stock=F("stock") + line.quantity
            )
        order.status = OrderStatus.CANCELLED
        order.save(update_fields=["status"])
    return order
