from django.contrib import admin

from ledger.models import AuditEvent, LedgerEntry


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = ["pk", "order_ref", "account", "amount", "created_at"]
    list_filter = ["account"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["action", "object_repr", "created_at"]
    list_filter = ["action"]
