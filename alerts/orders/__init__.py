"""Work orders: device events to episodes and orders (raising, opening, incidents), the
lifecycle of people's commands, and the one writer of the order row (``versioned``)."""
