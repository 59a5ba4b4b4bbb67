"""Trackers in the schema: what an organisation tracks on bills, its values, and their points."""
