"""Loyalty cards: issueCard, setCardStatus, and the cards listed on a customer."""
