"""Small pure helpers for SKUs and prices."""

import re
from decimal import Decimal, InvalidOperation

SKU_PATTERN = re.compile(r"^[A-Z]{2,5}-\d{3,6}$")
CENT = Decimal("0.01")


def normalize_sku(value):
    """Upper-case a SKU and use dashes as the only separator."""
    cleaned = re.sub(r"[\s_]+", "-", value.strip().upper())
    return re.sub(r"-{2,}", "-", cleaned)


def is_valid_sku(value):
    return bool(SKU_PATTERN.match(value))


def format_price(amount, currency="EUR"):
    amount = Decimal(amount).quantize(CENT)
    return f"{amount:,.2f} {currency}"


def parse_price(text):
    """Parse a user-typed price such as ``"1,299.50 EUR"``; ``None`` if it is not one."""
    cleaned = text.strip().upper()
    for currency in ("EUR", "USD", "€", "$"):
        cleaned = cleaned.replace(currency, "")
    cleaned = cleaned.replace(",", "").strip()
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if value < 0:
        return None
    return value.quantize(CENT)
