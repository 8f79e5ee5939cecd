from django.http import JsonResponse
from django.shortcuts import render
from django.views.generic import DetailView

from catalog.forms import ProductSearchForm
from catalog.models import Product
from catalog.selectors import active_products


def health(request):
    return JsonResponse({"status": "ok", "service": "example-shop"})


def product_list(request):
    form = ProductSearchForm(request.GET)
    products = []
    if form.is_valid():
        data = form.cleaned_data
        products = active_products(
            category_slug=data["category"] or None,
            search=data["q"] or None,
            min_price=data["min_price"],
            max_price=data["max_price"],
        )
    return render(request, "catalog/product_list.html", {"form": form, "products": products})


class ProductDetailView(DetailView):
    model = Product
    context_object_name = "product"
    template_name = "catalog/product_detail.html"

    def get_queryset(self):
        return Product.objects.active().select_related("category")
