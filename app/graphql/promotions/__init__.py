"""Code-linked promotions in the schema: promotions, their codes, validation against a cart, links."""
