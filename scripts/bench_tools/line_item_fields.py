"""CPU per prepared line of transactions.rules.prepare_line: before (line-item field check patched
out), after with no line-item declarations, after with one declared ENUM field given, interleaved
in rounds (time.process_time, median of rounds)."""

import statistics
import time
from decimal import Decimal
from types import SimpleNamespace

from app.organizations.config import CustomerFieldConfig
from app.organizations.models import CustomerFieldType
from app.transactions import rules
from app.transactions.inputs import LineItemInput

size = CustomerFieldConfig("size", CustomerFieldType.ENUM, False, ("S", "M", "L"))
free = SimpleNamespace(extended_fields=(), custom_fields=(), line_item_extended_fields=(), line_item_custom_fields=())
declaring = SimpleNamespace(
    extended_fields=(), custom_fields=(), line_item_extended_fields=(size,), line_item_custom_fields=()
)
plain = LineItemInput(item_code="SKU-1", qty=Decimal(2), rate=Decimal("450"), discount=Decimal(10))
sized = LineItemInput(
    item_code="SKU-1",
    qty=Decimal(2),
    rate=Decimal("450"),
    discount=Decimal(10),
    extended_fields=[{"name": "size", "value": "M"}],
)
check = rules.check_bill_fields


def measure(org, line, patched, n=20000):
    rules.check_bill_fields = (lambda *args, **kwargs: None) if patched else check
    start = time.process_time()
    for _ in range(n):
        rules.prepare_line(line, 0, "input.lineItems[0]", org)
    return (time.process_time() - start) / n * 1e6


results = {"before (check patched out)": [], "after, nothing declared": [], "after, one declared field": []}
for _ in range(7):
    results["before (check patched out)"].append(measure(free, plain, True))
    results["after, nothing declared"].append(measure(free, plain, False))
    results["after, one declared field"].append(measure(declaring, sized, False))
for name, values in results.items():
    print(f"{name}: median {statistics.median(values):.2f} us per line (min {min(values):.2f}, max {max(values):.2f})")
