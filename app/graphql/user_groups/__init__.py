"""User groups in the schema: groups of customers with their own points, and their members."""
