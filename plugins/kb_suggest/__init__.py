"""Labeldesk plugin kb_suggest (in progress)."""
