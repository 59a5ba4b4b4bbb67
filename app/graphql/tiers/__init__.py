"""Member care's slab (tier) history in the schema."""
