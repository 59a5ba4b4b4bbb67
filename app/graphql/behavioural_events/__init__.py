"""Behavioural events in the schema: recordBehaviouralEvents and member care's list of a customer's events."""
