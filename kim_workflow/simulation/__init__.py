"""A whole funding year simulated day by day through the services (seeded scenario, injected clock)."""
