"""Residents: Open311 reports merged with sensor work orders, tracking, feedback, notice boards."""
