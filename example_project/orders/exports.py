"""CSV export of orders for the accounting team."""

import csv

EXPORT_COLUMNS = [
    "order",
    "created",
    "customer",
    "status",
    "sku",
    "quantity",
    "unit_price",
    "total",
]


def order_rows(orders):
    for order in orders:
        lines = list(order.lines.select_related("product"))
        if not lines:
            yield [
                order.pk,
                order.created_at.isoformat(),
                order.customer_email,
                order.status,
                "",
                0,
                "",
                order.total,
            ]
            continue
        for line in lines:
            yield [
                order.pk,
                order.created_at.isoformat(),
                order.customer_email,
                order.status,
                line.product.sku,
                line.quantity,
                line.unit_price,
                order.total,
            ]


def export_orders_csv(orders, stream, include_header=True):
    writer = csv.writer(stream)
    if include_header:
        writer.writerow(EXPORT_COLUMNS)
    count = 0
    for row in order_rows(orders):
        writer.writerow(row)
        count += 1
    return count
