from decimal import Decimal

from catalog.models import Product
from catalog.tests.factories import make_category, make_product
from django.db import connections
from django.test import TransactionTestCase

from orders.models import Order
from orders.services import OutOfStock, place_order
from orders.signals import order_placed


class OrderPlacementTransactionTests(TransactionTestCase):
    databases = {"default"}
    # Flushing only these apps' tables leaves content types and permissions
    # alone, so SeededCategoriesTests can restore its serialized rows.
    available_apps = ["catalog", "orders"]

    def setUp(self):
        category = make_category()
        self.lamp = make_product(category, sku="LAMP-100", price=Decimal("20.00"), stock=3)
        self.bulb = make_product(category, sku="BULB-200", price=Decimal("2.00"), stock=1)

    def test_placed_order_is_committed(self):
        order = place_order("ann@example.com", [(self.lamp.pk, 2)])
        self.assertFalse(connections["default"].in_atomic_block)
        self.assertEqual(Order.objects.get(pk=order.pk).total, Decimal("40.00"))
        self.assertEqual(Product.objects.using("default").get(pk=self.lamp.pk).stock, 1)

    def test_failed_order_rolls_back_everything(self):
        with self.assertRaises(OutOfStock):
            place_order("ann@example.com", [(self.lamp.pk, 1), (self.bulb.pk, 2)])
        self.assertEqual(Order.objects.count(), 0)
        stock = dict(Product.objects.using("default").values_list("sku", "stock"))
        self.assertEqual(stock, {"LAMP-100": 3, "BULB-200": 1})

    def test_signal_is_sent_after_commit(self):
        received = []

        def receiver(sender, order, **kwargs):
            # Runs after COMMIT: the order is visible outside the transaction.
            received.append(Order.objects.filter(pk=order.pk).exists())

        order_placed.connect(receiver, dispatch_uid="test-after-commit")
        self.addCleanup(order_placed.disconnect, dispatch_uid="test-after-commit")
        place_order("ann@example.com", [(self.bulb.pk, 1)])
        self.assertEqual(received, [True])
