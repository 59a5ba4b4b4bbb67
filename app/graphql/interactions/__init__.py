"""Interactions in the schema: recordInteractions and member care's list of a customer's messages."""
