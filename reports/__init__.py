"""Reports over the relational history: uptime, household-hours and team performance."""
