"""Points promotions (the seed's Customer Promotion) in the schema: awards and the promotion query."""
