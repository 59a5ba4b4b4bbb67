"""Manual points adjustments in the schema: adjustPoints (member care)."""
