from decimal import Decimal

from django.db import transaction
from django.test import TransactionTestCase

from ledger.models import Account, AuditEvent, LedgerEntry
from ledger.services import audit


class LedgerAtomicityTests(TransactionTestCase):
    databases = {"ledger", "audit"}

    def test_rolled_back_ledger_write_leaves_no_entry(self):
        with self.assertRaises(RuntimeError), transaction.atomic(using="ledger"):
            LedgerEntry.objects.create(order_ref=1, account=Account.SALES, amount=Decimal("5.00"))
            raise RuntimeError("payment provider timed out")
        self.assertEqual(LedgerEntry.objects.count(), 0)

    def test_audit_database_has_its_own_transactions(self):
        with self.assertRaises(RuntimeError), transaction.atomic(using="ledger"):
            LedgerEntry.objects.create(order_ref=2, account=Account.SALES, amount=Decimal("5.00"))
            audit("ledger.attempt", payload={"order": 2})
            raise RuntimeError("rolled back")
        self.assertFalse(LedgerEntry.objects.filter(order_ref=2).exists())
        self.assertTrue(AuditEvent.objects.filter(action="ledger.attempt").exists())
