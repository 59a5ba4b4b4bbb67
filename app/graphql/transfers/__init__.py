"""Points transfers in the schema: transferPoints and member care's list of a customer's transfers."""
