"""Devices of the site with their live status."""
