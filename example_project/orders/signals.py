from django.dispatch import Signal

# Sent once the transaction that placed an order has committed; args: order.
order_placed = Signal()
