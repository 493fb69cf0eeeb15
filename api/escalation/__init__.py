"""Hand back and department acknowledgement of work orders."""
