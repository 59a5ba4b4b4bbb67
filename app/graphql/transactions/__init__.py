"""Bills in the schema: the Transaction type, and the purchases, batches and returns that post them."""
