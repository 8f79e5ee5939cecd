"""Sales reports over the orders in the primary database."""

from decimal import Decimal

from django.db.models import Count, Sum

from orders.models import Order, OrderLine, OrderStatus

CENT = Decimal("0.01")


def _counted_orders(orders=None):
    orders = Order.objects.all() if orders is None else orders
    return orders.exclude(status=OrderStatus.CANCELLED)


def sales_by_status(orders=None):
    orders = Order.objects.all() if orders is None else orders
    rows = orders.order_by().values("status").annotate(count=Count("pk"), revenue=Sum("total"))
    return {
        row["status"]: {
            "count": row["count"],
            "revenue": (row["revenue"] or Decimal(0)).quantize(CENT),
        }
        for row in rows
    }


def total_revenue(orders=None):
    total = _counted_orders(orders).aggregate(revenue=Sum("total"))["revenue"]
    return (total or Decimal(0)).quantize(CENT)


def average_order_value(orders=None):
    counted = _counted_orders(orders)
    count = counted.count()
    if not count:
        return Decimal("0.00")
    return (total_revenue(counted) / count).quantize(CENT)


def top_products(limit=5):
    rows = (
        OrderLine.objects.exclude(order__status=OrderStatus.CANCELLED)
        .values("product__sku", "product__name")
        .annotate(units=Sum("quantity"))
        .order_by("-units", "product__sku")[:limit]
    )
    return [(row["product__sku"], row["product__name"], row["units"]) for row in rows]
