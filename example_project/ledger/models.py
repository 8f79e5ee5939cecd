"""Accounting records, kept outside the shop database.

``LedgerEntry`` lives in the ``ledger`` database and ``AuditEvent`` in the
``audit`` database (see ``config.routers``), so orders are referenced by id,
not by foreign key.
"""

from django.db import models


class Account(models.TextChoices):
    SALES = "sales", "Sales"
    REFUNDS = "refunds", "Refunds"
    RECEIVABLE = "receivable", "Receivable"


class LedgerEntry(models.Model):
    order_ref = models.PositiveBigIntegerField(db_index=True)
    account = models.CharField(max_length=20, choices=Account.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        verbose_name_plural = "ledger entries"

    def __str__(self):
        return f"{self.account} {self.amount} (order {self.order_ref})"


class AuditEvent(models.Model):
    action = models.CharField(max_length=64, db_index=True)
    object_repr = models.CharField(max_length=200, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.action}: {self.object_repr}"
