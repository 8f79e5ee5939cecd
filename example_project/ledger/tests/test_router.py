from catalog.models import Category, Product
from config.routers import PrimaryReplicaRouter
from django.contrib.auth.models import User
from django.test import SimpleTestCase
from orders.models import Order, OrderLine

from ledger.models import AuditEvent, LedgerEntry


def on(db, instance):
    instance._state.db = db
    return instance


class PrimaryReplicaRouterTests(SimpleTestCase):
    def setUp(self):
        self.router = PrimaryReplicaRouter()

    def test_catalog_reads_go_to_the_replica(self):
        self.assertEqual(self.router.db_for_read(Product), "replica")
        self.assertEqual(self.router.db_for_read(Category), "replica")

    def test_instance_hint_keeps_reads_on_the_instance_database(self):
        line = on("default", OrderLine())
        self.assertEqual(self.router.db_for_read(Product, instance=line), "default")
        product = on("replica", Product())
        self.assertEqual(self.router.db_for_read(Category, instance=product), "replica")

    def test_writes_and_other_reads(self):
        self.assertEqual(self.router.db_for_write(Product), "default")
        self.assertEqual(
            self.router.db_for_write(OrderLine, instance=on("replica", Product())), "default"
        )
        self.assertEqual(self.router.db_for_write(LedgerEntry), "ledger")
        self.assertEqual(self.router.db_for_write(AuditEvent), "audit")
        self.assertEqual(self.router.db_for_read(Order), "default")
        self.assertEqual(self.router.db_for_read(User), "default")
        self.assertEqual(self.router.db_for_read(LedgerEntry), "ledger")
        self.assertEqual(self.router.db_for_read(AuditEvent), "audit")

    def test_allow_migrate_per_model(self):
        expected = {
            ("catalog", "product"): {"default"},
            ("orders", "order"): {"default"},
            ("auth", "user"): {"default"},
            ("ledger", "ledgerentry"): {"ledger"},
            ("ledger", "auditevent"): {"audit"},
        }
        for (app_label, model_name), databases in expected.items():
            for db in ("default", "replica", "ledger", "audit"):
                with self.subTest(model=f"{app_label}.{model_name}", db=db):
                    allowed = self.router.allow_migrate(db, app_label, model_name=model_name)
                    self.assertIs(allowed, db in databases)
        # Operations without a model (RunPython): per app.
        self.assertTrue(self.router.allow_migrate("default", "catalog"))
        self.assertFalse(self.router.allow_migrate("ledger", "catalog"))
        self.assertTrue(self.router.allow_migrate("audit", "ledger"))
        self.assertFalse(self.router.allow_migrate("default", "ledger"))
        self.assertFalse(self.router.allow_migrate("replica", "ledger"))

    def test_allow_relation(self):
        self.assertTrue(
            self.router.allow_relation(on("replica", Product()), on("default", OrderLine()))
        )
        self.assertTrue(
            self.router.allow_relation(on("ledger", LedgerEntry()), on("ledger", LedgerEntry()))
        )
        self.assertFalse(
            self.router.allow_relation(on("ledger", LedgerEntry()), on("default", Order()))
        )
        self.assertFalse(
            self.router.allow_relation(on("audit", AuditEvent()), on("ledger", LedgerEntry()))
        )
