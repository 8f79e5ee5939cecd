"""Writing sales to the ledger and keeping an audit trail."""

from decimal import Decimal

from django.db import router, transaction
from django.db.models import Sum

from ledger.models import Account, AuditEvent, LedgerEntry


def audit(action, obj=None, payload=None):
    return AuditEvent.objects.create(
        action=action,
        object_repr="" if obj is None else str(obj)[:200],
        payload=payload or {},
    )


def record_sale(order):
    if order.total <= 0:
        raise ValueError(f"Cannot record a sale of {order.total} for {order}.")
    with transaction.atomic(using=router.db_for_write(LedgerEntry)):
        entry = LedgerEntry.objects.create(
            order_ref=order.pk,
            account=Account.SALES,
            amount=order.total,
            memo=f"{order} for {order.customer_email}",
        )
    audit("ledger.sale_recorded", order, {"order": order.pk, "amount": str(order.total)})
    return entry


def record_refund(order, amount=None):
    amount = order.total if amount is None else Decimal(amount)
    if amount <= 0 or amount > order.total:
        raise ValueError(f"A refund must be between 0 and {order.total}.")
    entry = LedgerEntry.objects.create(
        order_ref=order.pk, account=Account.REFUNDS, amount=-amount, memo=f"Refund of {order}"
    )
    audit("ledger.refund_recorded", order, {"order": order.pk, "amount": str(amount)})
    return entry


def account_balance(account):
    total = LedgerEntry.objects.filter(account=account).aggregate(total=Sum("amount"))["total"]
    return total or Decimal("0.00")


def reconcile(orders):
    """Return the ids of orders whose ledger total differs from the order total."""
    mismatched = []
    for order in orders:
        booked = LedgerEntry.objects.filter(order_ref=order.pk).aggregate(total=Sum("amount"))
        if (booked["total"] or Decimal("0.00")) != order.total:
            mismatched.append(order.pk)
    return mismatched
