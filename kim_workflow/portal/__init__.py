"""The Kommunen's portal: a small FastAPI application with server-rendered German pages (no scripts)."""
