"""The governance model: street → communities → grids → buildings → devices, teams, departments."""
