"""Notifications of order changes: the transactional outbox, who hears what, the relay that
delivers committed rows, and the delivery channels."""
