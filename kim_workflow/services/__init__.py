"""Use cases: each takes a session (or engine), plain parameters and the current time."""
