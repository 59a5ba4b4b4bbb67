"""Points redemptions in the schema: redeem, validate, reverse, and member care's list."""
