from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("new/", views.OrderCreateView.as_view(), name="order_create"),
    path("<int:pk>/", views.order_detail, name="order_detail"),
]
