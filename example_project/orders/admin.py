from django.contrib import admin

from orders.models import Order, OrderLine


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    raw_id_fields = ["product"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["pk", "customer_email", "status", "total", "created_at"]
    list_filter = ["status"]
    search_fields = ["customer_email"]
    inlines = [OrderLineInline]
