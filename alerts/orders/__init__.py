"""Work orders: device events to episodes and orders (raising, opening, incidents), the
root-cause grouping of held pages (grouping, holds, held_pages), the lifecycle of people's
commands, and the one writer of the order row (``versioned``)."""
