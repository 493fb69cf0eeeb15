"""Who is paged and when: SLA clocks, the escalation sweep, departments, silences, rosters,
and the linking of orders one open order explains."""
