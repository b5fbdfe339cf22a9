"""Thin Prefect entrypoints; the logic lives in kim_workflow."""
