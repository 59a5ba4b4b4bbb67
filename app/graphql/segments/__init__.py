"""Segments in the schema: create one, change its members, read segments and a customer's history."""
