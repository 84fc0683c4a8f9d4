"""Labeldesk plugin autoreply (in progress)."""
