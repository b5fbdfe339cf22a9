"""The portal as an import string for uvicorn's worker processes (``KIM_PORTAL_WORKERS`` > 1): each worker builds
its own settings, engine and clock from the environment."""

from __future__ import annotations

from fastapi import FastAPI

from kim_workflow.app import bootstrap, utc_now
from kim_workflow.portal.app import create_app


def from_environment() -> FastAPI:
    app = bootstrap()
    return create_app(app.settings, app.engine, utc_now)
