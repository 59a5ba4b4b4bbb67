"""Bulk imports in the schema: uploads of each profile (points, customer promotion points, tracked
values), saved templates, and jobs with their rejects and corrections."""
