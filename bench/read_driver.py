"""CPU per read statement: SQLAlchemy's async engine vs a bare psycopg async pool, same statement, both in
autocommit, on the default asyncio loop and on uvloop (what `footage serve` runs). The basis for
app/core/reads.py.

Usage: .venv/bin/python bench/read_driver.py [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--n 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

import psycopg_pool
import uvloop
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

# A token check's shape: one row of a user's columns by a bound parameter.
SQL = (
    "SELECT id, email, role, unit_id, owner_id, is_active, token_version, created_at FROM (SELECT gen_random_uuid() id,"
    " 'a@b' email, 'investigator' role, gen_random_uuid() unit_id, NULL::uuid owner_id, true is_active,"
    " 1 token_version, now() created_at) u WHERE CAST({param} AS int) = 1"
)


async def measure(url: str, n: int) -> dict[str, float]:
    engine = create_async_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    statement = text(SQL.format(param=":x"))
    pool = psycopg_pool.AsyncConnectionPool(url, min_size=2, max_size=5, kwargs={"autocommit": True}, open=False)
    await pool.open()

    async def through_sqlalchemy() -> None:
        async with engine.connect() as conn:
            (await conn.execute(statement, {"x": 1})).one()

    async def through_psycopg() -> None:
        async with pool.connection() as conn:
            await (await conn.execute(SQL.format(param="%s"), (1,))).fetchone()

    runs: dict[str, Callable[[], Awaitable[None]]] = {"sqlalchemy": through_sqlalchemy, "psycopg": through_psycopg}
    results: dict[str, float] = {}
    for name, run in runs.items():
        for _ in range(200):
            await run()
        started = time.process_time()
        for _ in range(n):
            await run()
        results[name] = round((time.process_time() - started) / n * 1000, 3)
    await engine.dispose()
    await pool.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--n", type=int, default=2000)
    opts = parser.parse_args()
    print("asyncio, CPU ms per statement:", asyncio.run(measure(opts.pg, opts.n)))
    print("uvloop,  CPU ms per statement:", uvloop.run(measure(opts.pg, opts.n)))


if __name__ == "__main__":
    main()
