"""Manual points adjustments by member care: a credit or a debit with a reason and a note."""
