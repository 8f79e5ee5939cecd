from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.generic import FormView

from orders.forms import OrderForm
from orders.models import Order
from orders.services import OrderError, place_order


class OrderCreateView(FormView):
    form_class = OrderForm
    template_name = "orders/order_form.html"

    def get_initial(self):
        initial = super().get_initial()
        product = self.request.GET.get("product", "")
        if product.isdigit():
            initial["product"] = int(product)
        return initial

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            order = place_order(
                data["customer_email"], [(data["product"].pk, data["quantity"])], note=data["note"]
            )
        except OrderError as exc:
            form.add_error(None, str(exc))
            return self.form_invalid(form)
        messages.success(self.request, f"Thank you! Order #{order.pk} has been placed.")
        return redirect(order)


def order_detail(request, pk):
    order = get_object_or_404(Order, pk=pk)
    lines = order.lines.select_related("product")
    return render(request, "orders/order_detail.html", {"order": order, "lines": lines})
