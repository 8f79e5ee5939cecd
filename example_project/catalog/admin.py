from django.contrib import admin

from catalog.forms import ProductForm
from catalog.models import Category, Product


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductForm
    list_display = ["name", "sku", "category", "price", "stock", "is_active"]
    list_filter = ["is_active", "category"]
    search_fields = ["name", "sku"]
