"""The `footage` command: serve, worker, migrate (more arrive with their domains)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    import uvicorn

    from app.core.queue import WorkerThread

from app.core.config import Settings, child_environment, get_settings

cli = typer.Typer(help="Camera-footage extraction request tracker.", no_args_is_help=True)


def _logging() -> None:
    logging.basicConfig(
        level=get_settings().log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default: settings HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: settings PORT).")] = None,
    with_worker: Annotated[bool, typer.Option(help="Run one background worker beside the API.")] = True,
) -> None:
    """Start the API; with no DATABASE_URL / S3_ENDPOINT, start the embedded PostgreSQL / SeaweedFS first (and
    record them under DATA_DIR, so other `footage` commands use them instead of starting their own)."""
    import uvicorn

    from app.core import allocator, embedded
    from app.core.config import override_settings
    from app.main import create_app

    _logging()
    allocator.pin_mmap_threshold()
    # SIGTERM ends the process through the `finally` below, so the worker and the embedded backends stop with it
    # (uvicorn re-raises the signal once it has shut down; by default that would kill the process on the spot).
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    # PUBLIC_BASE_URL, when unset, follows the address actually served.
    override_settings(host=host or get_settings().host, port=port or get_settings().port)
    started = embedded.start_missing_backends(serving=True)
    supervisor = next(
        (embedded.Supervisor(backend) for backend in started if isinstance(backend, embedded.EmbeddedS3)), None
    )
    if supervisor is not None:
        supervisor.start()
    worker: WorkerThread | None = None
    try:
        # Migrations and the first admin run in a child process: Alembic, its templates and the queue's schema
        # code then never occupy the server's memory.
        credentials = first_admin_file()
        before = _file_identity(credentials)
        subprocess.run(
            [sys.executable, "-m", "app", "migrate", "--first-admin"],
            env=child_environment(get_settings()),
            check=True,
        )
        settings = get_settings()
        if with_worker:
            worker = _worker_beside_api()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(),
                host=settings.host,
                port=settings.port,
                log_level=settings.log_level.lower(),
                **proxy_options(settings),
            )
        )
        created = _file_identity(credentials) != before and credentials.exists()
        threading.Thread(target=_announce, args=(server, credentials if created else None), daemon=True).start()
        server.run()
    finally:
        if supervisor is not None:
            supervisor.stop()
        if worker is not None:
            worker.stop()
        embedded.stop_backends(started)


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def first_admin_file() -> Path:
    """Where a generated first-admin password is written (mode 0600), once, when the admin is created."""
    return get_settings().data_dir / "first-admin.txt"


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def _announce(server: uvicorn.Server, credentials: Path | None) -> None:
    """Once the server accepts connections: where it serves and, on the first start, the first admin's
    credentials in a box that stands out of the install and start-up output."""
    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.1)
    settings = get_settings()
    lines = [f"Serving on http://{settings.host}:{settings.port}", f"Owner links use {settings.public_base_url}"]
    if credentials is not None:
        email, password = credentials.read_text().splitlines()[:2]
        lines += ["", "First admin (shown once):", f"  email:    {email}", f"  password: {password}"]
        lines += [f"Also written to {credentials} (mode 0600); delete it once noted."]
    typer.echo(_boxed(lines))


def _boxed(lines: list[str]) -> str:
    width = max(len(line) for line in lines)
    rule = "+" + "-" * (width + 2) + "+"
    return "\n".join(["", rule, *(f"| {line.ljust(width)} |" for line in lines), rule, ""])


def proxy_options(settings: Settings) -> dict[str, Any]:
    """X-Forwarded-For is read only from TRUSTED_PROXIES; with none configured it is ignored altogether."""
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": settings.trusted_proxies}


def _worker_beside_api() -> WorkerThread:
    """The embedded default's single worker: a thread with its own event loop, stopped before the backends."""
    from app.core.queue import WorkerThread
    from app.jobs import tasks  # noqa: F401 - the task table the worker runs

    worker = WorkerThread()
    worker.start()
    return worker


def _bootstrap_admin() -> None:
    """On an empty database create the first admin; a generated password is written once to a 0600 file
    under DATA_DIR (`footage serve` shows it in a box when it is done starting)."""
    from app.auth import service as auth
    from app.core.db import write_session

    with write_session() as session:
        generated = auth.ensure_first_admin(session)
    if generated:
        path = first_admin_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{get_settings().admin_email}\n{generated}\n")
        partial.replace(path)
        typer.echo(f"first admin created: {get_settings().admin_email}; its password is in {path} (mode 0600)")


@cli.command("create-user")
def create_user(
    email: Annotated[str, typer.Argument(help="Sign-in email.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, help="At least 10 characters.")],
    role: Annotated[str, typer.Option(help="admin | investigator | supervisor | owner | auditor")],
    full_name: Annotated[str | None, typer.Option(help="Display name (default: the email).")] = None,
    unit: Annotated[str | None, typer.Option(help="Unit code (investigators and supervisors).")] = None,
    owner_id: Annotated[str | None, typer.Option(help="Owner record id (owner accounts).")] = None,
) -> None:
    """Create a user (bootstrap and scripts); the same rules as POST /api/v1/users apply."""
    from uuid import UUID

    from pydantic import ValidationError

    import app.models  # noqa: F401 - every mapper, so the user's relationships resolve in a fresh process
    from app.auth import service as auth
    from app.auth.schemas import UserCreate
    from app.core import embedded
    from app.core.db import write_session
    from app.core.errors import DomainError

    started = embedded.start_missing_backends(need_s3=False)
    try:
        with write_session() as session:
            unit_id = auth.unit_by_code(session, unit).id if unit else None
            body = UserCreate(
                email=email,
                password=password,
                full_name=full_name or email,
                role=role,
                unit_id=unit_id,
                owner_id=UUID(owner_id) if owner_id else None,
            )
            user = auth.create_user(session, body)
            typer.echo(f"created {user.role} {user.email} ({user.id})")
    except (DomainError, ValidationError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        embedded.stop_backends(started)


def _account_command(email: str, change: str) -> None:
    """Deactivate, reactivate or reset the password of the user who signs in as EMAIL (recorded as security
    events, with no admin named: the command line is the operator's)."""
    import app.models  # noqa: F401 - every mapper, so the user's relationships resolve in a fresh process
    from app.auth import service as auth
    from app.core import embedded
    from app.core.db import write_session
    from app.core.errors import DomainError

    started = embedded.start_missing_backends(need_s3=False)
    try:
        with write_session() as session:
            user = auth.user_by_email(session, email)
            if change == "deactivate":
                auth.deactivate_user(session, user.id, None, "cli")
                typer.echo(f"deactivated {user.email}: every token they hold is refused")
            elif change == "reactivate":
                auth.reactivate_user(session, user.id, None, "cli")
                typer.echo(f"reactivated {user.email}: they sign in afresh (earlier tokens stay refused)")
            else:
                reset = auth.start_password_reset(session, user.id, None, "cli")
                typer.echo(f"password reset link for {user.email} (sent by email too; works once):")
                typer.echo(f"  {reset.url}")
                typer.echo(f"  valid until {reset.expires_at.isoformat()}")
    except DomainError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        embedded.stop_backends(started)


@cli.command("deactivate-user")
def deactivate_user(email: Annotated[str, typer.Argument(help="Sign-in email.")]) -> None:
    """Stop a user signing in; their tokens are refused at once."""
    _account_command(email, "deactivate")


@cli.command("reactivate-user")
def reactivate_user(email: Annotated[str, typer.Argument(help="Sign-in email.")]) -> None:
    """Let a deactivated user sign in again (tokens from before stay refused)."""
    _account_command(email, "reactivate")


@cli.command("reset-password")
def reset_password(email: Annotated[str, typer.Argument(help="Sign-in email.")]) -> None:
    """Print a one-time, expiring password-reset link for a user and send it to their email."""
    _account_command(email, "reset")


@cli.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    first_admin: Annotated[bool, typer.Option(help="Then create the first admin if there is no user yet.")] = False,
) -> None:
    """Apply database migrations (Alembic) up to REVISION."""
    from app.core import embedded
    from app.core import migrate as migrations

    _logging()
    started = embedded.start_missing_backends(need_s3=False)
    try:
        migrations.upgrade(revision)
        typer.echo(f"database at {revision}")
        if first_admin:
            _bootstrap_admin()
    finally:
        embedded.stop_backends(started)


@cli.command()
def worker() -> None:
    """Run the durable job queue's worker (periodic tasks included) until SIGTERM/SIGINT."""
    from app.core import embedded, queue
    from app.jobs import tasks  # noqa: F401 - the task table the worker runs

    _logging()
    started = embedded.start_missing_backends() if not get_settings().database_url else []
    try:
        logging.getLogger("app.worker").info("worker started")
        queue.run_worker()
    finally:
        for backend in reversed(started):
            backend.stop()


@cli.command("import-cameras")
def import_cameras(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or GeoJSON file.")],
) -> None:
    """Import cameras (upsert by external_id), reporting every bad row; exits 1 when any row was refused."""
    from app.auth.permissions import system_actor
    from app.core import embedded
    from app.core.db import write_session
    from app.registry import importer

    started = embedded.start_missing_backends(need_s3=False)
    try:
        with path.open("rb") as fh:
            geojson = importer.sniff_geojson(fh.read(64))
        with path.open("rb") as fh, typer.progressbar(length=path.stat().st_size, label="importing") as bar:
            last = 0

            def progress(_rows: int) -> None:
                nonlocal last
                bar.update(fh.tell() - last)
                last = fh.tell()

            rows = importer.geojson_rows(fh) if geojson else importer.csv_rows(fh)
            with write_session() as session:
                result = importer.import_cameras(session, system_actor("import-cameras"), rows, progress)
        typer.echo(f"created {result['created']}, updated {result['updated']}, refused {len(result['errors'])}")
        for error in result["errors"]:
            typer.echo(f"  row {error['row']}: {error['field']}: {error['message']}", err=True)
        if result["errors"]:
            raise typer.Exit(1)
    finally:
        embedded.stop_backends(started)


@cli.command()
def demo(
    owners: Annotated[int, typer.Option(help="Background owners to create.")] = 300,
    cameras: Annotated[int, typer.Option(help="Background cameras to create.")] = 3000,
) -> None:
    """Build a lived-in province of Thanh Hóa city: two police units, one account per role (printed), owners and
    cameras, a case with requests in every state (with real clips), a closed case and another unit's case."""
    from app.core import embedded
    from app.core.db import write_session
    from app.demo import province
    from app.registry import demo as demo_data

    _logging()
    started = embedded.start_missing_backends()
    try:
        from app.core import migrate as migrations

        migrations.upgrade()
        _bootstrap_admin()
        with write_session() as session:
            fresh = not demo_data.already_seeded(session)
            seeded = demo_data.seed(session, owners=owners, cameras=cameras) if fresh else None
        if seeded:
            typer.echo(f"seeded {seeded['owners']} owners, {seeded['cameras']} cameras, {seeded['consents']} consents")
        built = province.build()
    finally:
        embedded.stop_backends(started)
    if built.already:
        typer.echo("the demo province is already there; its accounts:")
    else:
        states = ", ".join(sorted(set(built.requests.values())))
        typer.echo(f"built cases VV-…-0142 (requests: {states}; {built.clips} clips), VV-…-0117 (closed), VV-…-0208")
    typer.echo(_accounts_box(built.accounts))


def _accounts_box(accounts: list[Any]) -> str:
    """The demo accounts in a box: role, sign-in email, password, what the account is for."""
    rows = [(a.role.value, a.email, password, a.what) for a, password in accounts]
    if not rows:
        return ""
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    body = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |" for row in rows]
    where = f"Sign in at {get_settings().public_base_url}/login (passwords also in {_demo_accounts_path()})"
    return "\n".join([line, *body, line, where])


def _demo_accounts_path() -> Path:
    from app.demo import province

    return province.accounts_file()


@cli.command("verify-custody")
def verify_custody(
    objects: Annotated[
        bool, typer.Option("--objects/--no-objects", help="Re-hash every stored object version in S3.")
    ] = True,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Processes reading the log (default: the CPU count for large logs).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    witness: Annotated[
        list[str] | None,
        typer.Option(
            help="A witness's verifier key (NAME+KEYID+BASE64, or a file holding it) whose valid cosignature of a "
            "signed checkpoint is required; repeatable."
        ),
    ] = None,
) -> None:
    """Recompute the custody log, its roots and signed checkpoints, and the stored objects; exit 1 on any problem."""
    import json
    from pathlib import Path

    from app.custody import notes

    keys = []
    for given in witness or []:
        text = Path(given).read_text("utf-8") if "+" not in given and Path(given).is_file() else given
        try:
            key = notes.parse_vkey(text)
        except notes.NoteError as exc:
            raise typer.BadParameter(str(exc), param_hint="--witness") from exc
        if key.sig_type != notes.SIG_COSIGNATURE:
            raise typer.BadParameter(f"{key.name} is not a cosignature key (type 0x04)", param_hint="--witness")
        keys.append(key)

    from app.core import embedded
    from app.core.db import read_session
    from app.custody.verify import verify_log

    _logging()
    started = embedded.start_missing_backends(need_s3=objects)
    try:
        with read_session() as session:
            result = verify_log(session, include_objects=objects, workers=workers, witnesses=keys)
    finally:
        embedded.stop_backends(started)
    if as_json:
        typer.echo(json.dumps(result.as_record(), indent=2, ensure_ascii=False))
    else:
        typer.echo(
            f"custody log: {result.tree_size} events, root {result.root_hash}; "
            f"{result.checkpoints_checked} signed checkpoints, {result.objects_checked} object versions checked"
        )
        for name, size in sorted(result.witnessed.items()):
            typer.echo(f"witness {name}: cosigned the log up to {size} events")
        for problem in result.problems:
            at = f"seq {problem.seq}" if problem.seq is not None else f"object {problem.object_id or '-'}"
            typer.echo(f"PROBLEM {at}: {problem.what}" + (f" ({problem.detail})" if problem.detail else ""))
        typer.echo("OK" if result.ok else f"FAILED: {len(result.problems)} problem(s)")
    if not result.ok:
        raise typer.Exit(1)


@cli.command("sweep-orphans")
def sweep_orphans(
    grace_minutes: Annotated[
        int, typer.Option(min=0, help="Unlocked orphan versions younger than this are only reported.")
    ] = 60,
    remove: Annotated[
        bool, typer.Option("--remove/--report-only", help="Remove unlocked orphan versions past the grace period.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Find evidence objects without rows and rows without objects; exit 1 when anything is found."""
    import json
    from datetime import timedelta

    from app.appeals import evidence
    from app.core import embedded
    from app.core.db import write_session
    from app.footage.orphans import sweep_orphans as sweep

    _logging()
    started = embedded.start_missing_backends()
    try:
        with write_session() as session:
            report = sweep(session, grace=timedelta(minutes=grace_minutes), remove=remove, kinds=evidence.KINDS)
    finally:
        embedded.stop_backends(started)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False, default=str))
    else:
        for found in report.objects_without_rows:
            state = "locked" if found["locked"] else "unlocked"
            gone = " — removed" if found in report.removed else ""
            typer.echo(f"OBJECT WITHOUT ROW {found['object_key']}@{found['version_id']} ({state}){gone}")
        for found in report.rows_without_objects:
            typer.echo(
                f"ROW WITHOUT OBJECT {found['object_type']} {found['id']}: {found['object_key']}@{found['version_id']}"
            )
        typer.echo("OK: no orphans" if report.clean else "FOUND orphans (recorded in the custody log)")
    if not report.clean:
        raise typer.Exit(1)


def main() -> None:
    cli()
