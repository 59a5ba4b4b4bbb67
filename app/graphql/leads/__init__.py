"""Leads in the schema: createLead, updateLeadStatus, addLeadFollowUp and a customer's leads."""
