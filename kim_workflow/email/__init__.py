"""Email adapter: message kinds and templates, rendering, calendar files, outbox, SMTP dispatch, local sink."""
