"""Prefect adapter: the local server, deployments from prefect.yaml, tasks, artifacts and events.

Import this package only after :func:`kim_workflow.orchestration.environment.apply_prefect_environment`
(Prefect reads its settings from the environment when it is first imported).
"""
