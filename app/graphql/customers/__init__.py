"""Customers in the schema: the customer query and type, member care's history, and merges."""
