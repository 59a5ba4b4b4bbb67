"""Member-care lists downloaded as CSV and xlsx (routes.py), one declaration per list (lists.py)."""
