"""The points ledger in the schema: a customer's entries and balances, the organisation's
reconciliation, and the conversion of TRIGGER_BASED points (one ledger event moving points
between two of a customer's accounts, so it lives with the ledger rather than in a package
of its own)."""
