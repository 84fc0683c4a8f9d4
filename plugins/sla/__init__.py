"""Labeldesk plugin sla (in progress)."""
