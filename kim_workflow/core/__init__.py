"""The pure core: domain rules over plain data.

Nothing in here imports Prefect, SQLAlchemy/SQLModel, Jinja2 or aiosmtplib, touches the network or the file
system, or reads the clock: dates and times are always passed in. ``tests/unit/test_core_is_pure.py`` guards this.
"""
