import time
from decimal import Decimal

from catalog.tests.factories import make_category, make_product
from django.test import TestCase

from orders.models import OrderStatus
from orders.reports import average_order_value, sales_by_status, top_products, total_revenue
from orders.services import cancel_order, mark_paid, place_order

# Stands in for an expensive reporting query: this class is meant to be the
# slowest in the suite.
REPORT_DELAY = 0.6


class SlowReportTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        category = make_category()
        kettle = make_product(category, sku="KETL-100", price=Decimal("30.00"), stock=50)
        mug = make_product(category, sku="MUG-200", price=Decimal("4.50"), stock=50)
        cls.paid = mark_paid(place_order("a@example.com", [(kettle.pk, 1), (mug.pk, 4)]))
        place_order("b@example.com", [(mug.pk, 2)])
        place_order("c@example.com", [(kettle.pk, 2)])
        cancel_order(place_order("d@example.com", [(kettle.pk, 5)]))

    def slow_report(self, report, *args):
        time.sleep(REPORT_DELAY)
        return report(*args)

    def test_sales_by_status(self):
        summary = self.slow_report(sales_by_status)
        self.assertEqual(summary[OrderStatus.PAID], {"count": 1, "revenue": Decimal("48.00")})
        self.assertEqual(summary[OrderStatus.PENDING], {"count": 2, "revenue": Decimal("69.00")})
        self.assertEqual(summary[OrderStatus.CANCELLED]["count"], 1)

    def test_total_revenue_excludes_cancelled_orders(self):
        self.assertEqual(self.slow_report(total_revenue), Decimal("117.00"))

    def test_average_order_value(self):
        self.assertEqual(self.slow_report(average_order_value), Decimal("39.00"))

    def test_top_products(self):
        rows = self.slow_report(top_products, 2)
        self.assertEqual(
            [(sku, units) for sku, _, units in rows], [("MUG-200", 6), ("KETL-100", 3)]
        )
