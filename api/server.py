"""Running the service: uvicorn with worker processes, each calling ``api.app.app_from_env``.

The parent has migrated the store already, so workers open it without migrating (several
workers cleaning up a GeoPackage's unfinished imports at once could remove a running one).
Metrics of all workers are summed through a shared folder (prometheus_client multiprocess).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import uvicorn


def serve(store_url: str, host: str, port: int, workers: int) -> None:
    """Serve ``store_url`` on ``host:port`` with ``workers`` processes until interrupted."""
    metrics = Path(tempfile.mkdtemp(prefix="simtaru-metrics-"))
    os.environ.update(
        {
            "SIMTARU_DATABASE_URL": store_url,
            "SIMTARU_API_MIGRATE": "false",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        }
    )
    try:
        uvicorn.run(
            "api.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            loop="uvloop",
            http="httptools",
            access_log=False,
            log_level="info",
            timeout_graceful_shutdown=10,
        )
    finally:
        shutil.rmtree(metrics, ignore_errors=True)
