from decimal import Decimal

from catalog.tests.factories import make_category, make_product
from django.test import TestCase
from orders.models import Order
from orders.services import place_order

from ledger.models import Account, AuditEvent, LedgerEntry
from ledger.services import account_balance, record_refund, record_sale


class LedgerServiceTests(TestCase):
    databases = {"default", "ledger", "audit"}

    @classmethod
    def setUpTestData(cls):
        product = make_product(make_category(), sku="KETL-100", price=Decimal("30.00"), stock=10)
        cls.order = place_order("ann@example.com", [(product.pk, 2)])
        cls.other = place_order("bob@example.com", [(product.pk, 1)])

    def test_record_sale_writes_ledger_and_audit_databases(self):
        entry = record_sale(self.order)
        self.assertEqual(entry._state.db, "ledger")
        stored = LedgerEntry.objects.using("ledger").get(pk=entry.pk)
        self.assertEqual((stored.order_ref, stored.account), (self.order.pk, Account.SALES))
        self.assertEqual(stored.amount, Decimal("60.00"))
        event = AuditEvent.objects.get(action="ledger.sale_recorded")
        self.assertEqual(event._state.db, "audit")
        self.assertEqual(event.payload, {"order": self.order.pk, "amount": "60.00"})
        self.assertEqual(event.object_repr, str(self.order))

    def test_account_balance(self):
        record_sale(self.order)
        record_sale(self.other)
        record_refund(self.other, Decimal("10.00"))
        self.assertEqual(account_balance(Account.SALES), Decimal("90.00"))
        self.assertEqual(account_balance(Account.REFUNDS), Decimal("-10.00"))
        self.assertEqual(account_balance(Account.RECEIVABLE), Decimal("0.00"))

    def test_invalid_amounts_are_rejected(self):
        with self.assertRaises(ValueError):
            record_sale(Order(pk=12345, customer_email="x@example.com", total=Decimal("0.00")))
        with self.assertRaises(ValueError):
            record_refund(self.order, Decimal("61.00"))
        self.assertFalse(LedgerEntry.objects.exists())
