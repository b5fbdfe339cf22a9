"""Fault injection, bad input and secrets: the system under SMTP, process and database failures."""
