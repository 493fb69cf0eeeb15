"""The governance hierarchy of the site, for grouping on the dashboard."""
