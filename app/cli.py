"""The `footage` command: serve, worker, migrate (more arrive with their domains)."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Annotated

import typer

from app.core.config import get_settings

cli = typer.Typer(help="Camera-footage extraction request tracker.", no_args_is_help=True)


def _logging() -> None:
    logging.basicConfig(
        level=get_settings().log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default: settings HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: settings PORT).")] = None,
) -> None:
    """Start the API; with no DATABASE_URL / S3_ENDPOINT, start the embedded PostgreSQL / SeaweedFS first."""
    import uvicorn

    from app.core import embedded, migrate
    from app.main import create_app

    _logging()
    started = embedded.start_missing_backends()
    try:
        migrate.upgrade()
        settings = get_settings()
        typer.echo(f"serving on http://{host or settings.host}:{port or settings.port}")
        uvicorn.run(
            create_app(),
            host=host or settings.host,
            port=port or settings.port,
            log_level=settings.log_level.lower(),
            proxy_headers=True,
        )
    finally:
        for backend in reversed(started):
            backend.stop()


@cli.command()
def migrate(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply database migrations (Alembic) up to REVISION."""
    from app.core import embedded
    from app.core import migrate as migrations

    _logging()
    started = embedded.start_missing_backends() if not get_settings().database_url else []
    try:
        migrations.upgrade(revision)
        typer.echo(f"database at {revision}")
    finally:
        for backend in started:
            backend.stop()


@cli.command()
def worker() -> None:
    """Run background work until SIGTERM/SIGINT (no durable job types exist yet: it waits)."""
    _logging()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    logging.getLogger("app.worker").info("worker started; waiting for jobs")
    stop.wait()


def main() -> None:
    cli()
