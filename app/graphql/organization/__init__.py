"""The caller's organisation in the schema: its programs, tiers, stores and tills."""
