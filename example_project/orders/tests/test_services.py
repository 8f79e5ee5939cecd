from decimal import Decimal
from types import SimpleNamespace
from unittest import mock

from catalog.models import Product
from catalog.tests.factories import make_category, make_product
from django.test import SimpleTestCase, TestCase

from orders.models import Order, OrderStatus
from orders.services import (
    InvalidTransition,
    OrderError,
    OutOfStock,
    apply_bulk_discount,
    cancel_order,
    compute_order_total,
    mark_paid,
    place_order,
)
from orders.signals import order_placed


class OrderTotalTests(SimpleTestCase):
    def test_small_orders_are_not_discounted(self):
        self.assertEqual(apply_bulk_discount(Decimal("999.994")), Decimal("999.99"))

    def test_total_sums_the_lines(self):
        lines = [
            SimpleNamespace(quantity=2, unit_price=Decimal("3.50")),
            SimpleNamespace(quantity=1, unit_price=Decimal("0.25")),
        ]
        order = mock.Mock()
        order.lines.all.return_value = lines
        self.assertEqual(compute_order_total(order), Decimal("7.25"))


class PlaceOrderTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        category = make_category()
        cls.kettle = make_product(category, sku="KETL-100", price=Decimal("30.00"), stock=5)
        cls.mug = make_product(category, sku="MUG-200", price=Decimal("4.50"), stock=2)
        cls.retired = make_product(category, sku="FAX-300", is_active=False)

    def stock(self, product):
        return Product.objects.using("default").get(pk=product.pk).stock

    def test_place_order_creates_lines_total_and_takes_stock(self):
        order = place_order("ann@example.com", [(self.kettle.pk, 1), (self.mug.pk, 2)])
        self.assertEqual(order.status, OrderStatus.PENDING)
        self.assertEqual(order.total, Decimal("39.00"))
        self.assertEqual(
            [(line.product_id, line.quantity) for line in order.lines.all()],
            [(self.kettle.pk, 1), (self.mug.pk, 2)],
        )
        self.assertEqual((self.stock(self.kettle), self.stock(self.mug)), (4, 0))

    def test_repeated_products_are_merged(self):
        order = place_order("ann@example.com", [(self.mug.pk, 1), (self.mug.pk, 1)])
        self.assertEqual(order.lines.get().quantity, 2)

    def test_out_of_stock_changes_nothing(self):
        with self.assertRaisesMessage(OutOfStock, "Only 2 of MUG-200 left"):
            place_order("ann@example.com", [(self.kettle.pk, 1), (self.mug.pk, 3)])
        self.assertEqual(self.stock(self.kettle), 5)
        self.assertFalse(Order.objects.exists())

    def test_invalid_items_are_rejected(self):
        with self.assertRaisesMessage(OrderError, "Unknown or inactive"):
            place_order("ann@example.com", [(self.retired.pk, 1)])
        with self.assertRaisesMessage(OrderError, "at least one line"):
            place_order("ann@example.com", [])
        with self.assertRaisesMessage(OrderError, "Quantity must be"):
            place_order("ann@example.com", [(self.kettle.pk, 0)])

    def test_order_placed_signal_is_sent_on_commit(self):
        received = []
        order_placed.connect(
            lambda sender, order, **kwargs: received.append(order.pk),
            weak=False,
            dispatch_uid="test-order-placed",
        )
        self.addCleanup(order_placed.disconnect, dispatch_uid="test-order-placed")
        with self.captureOnCommitCallbacks(using="default", execute=True) as callbacks:
            order = place_order("ann@example.com", [(self.kettle.pk, 1)])
            self.assertEqual(received, [])
        self.assertEqual(len(callbacks), 1)
        self.assertEqual(received, [order.pk])

    def test_mark_paid(self):
        order = place_order("ann@example.com", [(self.kettle.pk, 1)])
        mark_paid(order)
        self.assertEqual(Order.objects.get(pk=order.pk).status, OrderStatus.PAID)
        with self.assertRaises(InvalidTransition):
            mark_paid(order)

    def test_cancel_pending_order_restores_stock(self):
        order = place_order("ann@example.com", [(self.mug.pk, 2)])
        self.assertEqual(self.stock(self.mug), 0)
        cancel_order(order)
        self.assertEqual(self.stock(self.mug), 2)
        self.assertEqual(Order.objects.get(pk=order.pk).status, OrderStatus.CANCELLED)
