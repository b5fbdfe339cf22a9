"""Production on Prefect's own engine: register ``prefect.yaml`` with a work pool, and start workers for it.

``kim deploy`` makes sure every work pool ``prefect.yaml`` names exists (type ``process``) and then runs Prefect's
own ``prefect deploy --all`` in the project folder, so schedules, triggers, concurrency limits and the pull step
come from the file exactly as written; then it keeps kim's automations (crash detection, re-run, alerts: see
:mod:`automations`) and the ``kim-dispatch`` concurrency limit in place. Running it again updates all in place.
``kim worker`` migrates the database (once, however many workers start together) and then becomes ``prefect worker
start`` for the pool.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

import yaml  # type: ignore[import-untyped]

from kim_workflow.orchestration.automations import ensure_automations, ensure_dispatch_limit
from kim_workflow.orchestration.deployments import read_specs
from kim_workflow.orchestration.environment import QUIET
from kim_workflow.orchestration.limits import DISPATCH_LIMIT
from kim_workflow.services.errors import UseCaseError
from kim_workflow.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_POOL = "kim-process"


class ProductionError(UseCaseError):
    """Registering or starting workers failed (German message); nothing was changed by kim."""


@dataclass(frozen=True)
class Deployed:
    pools_created: list[str]
    deployments: list[str]
    automations: list[str] = field(default_factory=list)
    dispatch_limit: str | None = None


def work_pools(project_root: Path = PROJECT_ROOT) -> list[str]:
    """The work pools named in ``prefect.yaml`` (every deployment must name one)."""
    document = yaml.safe_load((project_root / "prefect.yaml").read_text(encoding="utf-8")) or {}
    pools = []
    for entry in document.get("deployments") or []:
        name = (entry.get("work_pool") or {}).get("name")
        if not name:
            raise ProductionError(f"prefect.yaml: Deployment {entry.get('name')!r} nennt keinen work_pool.")
        pools.append(name)
    return sorted(set(pools))


def ensure_work_pools(names: list[str]) -> list[str]:
    """Create the missing pools (type ``process``); return the names created."""
    import httpx
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound

    created = []
    try:
        with get_client(sync_client=True) as client:
            for name in names:
                try:
                    client.read_work_pool(name)
                except ObjectNotFound:
                    client.create_work_pool(WorkPoolCreate(name=name, type="process"))
                    created.append(name)
    except httpx.HTTPError as exc:
        url = _require_api_url()
        raise ProductionError(f"Prefect-Server unter {url} nicht erreichbar ({type(exc).__name__}).") from None
    return created


def deploy_all(settings: Settings, project_root: Path = PROJECT_ROOT) -> Deployed:
    """Register every deployment of ``prefect.yaml`` with the Prefect server at ``PREFECT_API_URL``."""
    _require_api_url()  # never an ephemeral server: the deployments must land where the workers look
    created = ensure_work_pools(work_pools(project_root))
    prefect = Path(sys.executable).with_name("prefect")
    done = subprocess.run(
        [str(prefect), "--no-prompt", "deploy", "--all"],
        cwd=project_root,
        env=_environment(settings, project_root),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        tail = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()][-3:]
        raise ProductionError("prefect deploy ist fehlgeschlagen: " + " | ".join(tail))
    names = [spec.name for spec in read_specs(project_root / "prefect.yaml")]
    ids = registered_deployments(names, pools=work_pools(project_root))
    ensure_dispatch_limit(settings, DISPATCH_LIMIT)
    return Deployed(created, names, ensure_automations(ids, settings), DISPATCH_LIMIT)


def registered_deployments(names: list[str], *, pools: list[str]) -> dict[str, UUID]:
    """``{name: id}`` of the deployments of ``prefect.yaml`` on the work pools (not those ``kim up`` serves)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        WorkPoolFilter,
        WorkPoolFilterName,
    )

    with get_client(sync_client=True) as client:
        found = client.read_deployments(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=names)),
            work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=pools)),
        )
    ids = {deployment.name: deployment.id for deployment in found}
    missing = sorted(set(names) - set(ids))
    if missing:
        raise ProductionError(f"Nach prefect deploy fehlen Deployments: {', '.join(missing)}")
    return ids


def worker_command(pool: str, *, name: str | None, limit: int | None) -> list[str]:
    """The ``prefect worker start`` command line for ``pool``."""
    command = [str(Path(sys.executable).with_name("prefect")), "worker", "start", "--pool", pool, "--type", "process"]
    if name:
        command += ["--name", name]
    if limit:
        command += ["--limit", str(limit)]
    return command


def worker_environment(settings: Settings, project_root: Path = PROJECT_ROOT) -> dict[str, str]:
    """What the worker and every flow run it starts need: the project folder, quiet Prefect, our settings;
    flow-run heartbeats every ``KIM_FLOW_HEARTBEAT_SECONDS`` (crash detection) and the dispatch limit's name."""
    environment = _environment(settings, project_root)
    # always ours: the crash-detection automation of kim deploy waits for exactly this rhythm
    environment["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] = str(settings.flow_heartbeat_seconds)
    environment.setdefault("KIM_DISPATCH_CONCURRENCY_LIMIT", DISPATCH_LIMIT)
    return environment


def _environment(settings: Settings, project_root: Path) -> dict[str, str]:
    environment = {**os.environ, **{k: os.environ.get(k, v) for k, v in QUIET.items()}}
    environment["PREFECT_API_URL"] = _require_api_url()
    environment["KIM_PROJECT_DIR"] = str(project_root)
    environment.setdefault("KIM_DATA_DIR", str(settings.data_dir))
    return environment


def _require_api_url() -> str:
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()  # the environment or the active Prefect profile
    if url:
        return str(url)
    raise ProductionError(
        "PREFECT_API_URL ist nicht gesetzt: Bitte auf den Prefect-Server zeigen lassen, z. B. "
        "PREFECT_API_URL=http://prefect.intern:4200/api (für die eingebaute Umgebung genügt kim up)."
    )


def run_relay(settings: Settings, *, stop: threading.Event) -> None:
    """The reactions ``kim up`` gives, for a production topology: emails within a second of entering the outbox,
    domain events relayed to Prefect (the triggers), submitted decision forms applied at once. Runs until ``stop``.

    Safe to run on more than one machine: dispatch claims rows, events carry their row's id, decisions are
    applied by compare-and-set.
    """
    from kim_workflow.app import bootstrap, utc_now
    from kim_workflow.db.schema_check import is_at_head
    from kim_workflow.orchestration.relay import start_relays

    _require_api_url()
    kim = bootstrap(settings)
    if not is_at_head(kim.engine):
        raise ProductionError("Die Datenbank ist nicht auf dem neuesten Stand. Bitte zuerst: kim db upgrade")
    relays = start_relays(kim.engine, settings, clock=utc_now)
    try:
        stop.wait()
    finally:
        for relay in relays:
            relay.stop()
        kim.engine.dispose()
