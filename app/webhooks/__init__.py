"""Webhooks: the organisation's endpoints, and the delivery of outbox events to them (Standard Webhooks)."""
