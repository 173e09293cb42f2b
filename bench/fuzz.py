"""Schemathesis at a larger size than the test suite's bounded run: every operation of the live service (real
PostgreSQL and SeaweedFS), as an admin and as an investigator, with many more examples per operation.

Usage: .venv/bin/python bench/fuzz.py [--max-examples 200] [--seed N]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core import embedded, migrate  # noqa: E402
from tests.hardening.fuzzing import run_schemathesis, running_service, tokens  # noqa: E402
from tests.services import create_database, drop_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-examples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--pg", default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    opts = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-fuzz-"))
    s3 = embedded.start_seaweedfs(work / "s3")
    url = create_database(opts.pg, prefix="bench_fuzz")
    migrate.upgrade("heads", database_url=url)
    env = {
        "DATABASE_URL": url,
        "S3_ENDPOINT": s3.endpoint,
        "S3_ACCESS_KEY": s3.access_key,
        "S3_SECRET_KEY": s3.secret_key,
    }
    failed = False
    try:
        with running_service(env, work / "data") as service:
            for role, token in tokens(service.base).items():
                started = time.perf_counter()
                code, output = run_schemathesis(service.base, token, max_examples=opts.max_examples, seed=opts.seed)
                summary = re.findall(
                    r"(\d+) generated, (?:(\d+) found (\d+) unique failures|no failures found)", output
                )
                seed = re.findall(r"Seed: (\d+)", output)
                print(
                    f"{role}: exit {code} in {time.perf_counter() - started:.0f} s; test cases: {summary}; seed {seed}",
                    flush=True,
                )
                if code != 0:
                    failed = True
                    print(output[-20000:])
    finally:
        drop_database(url)
        s3.stop()
        shutil.rmtree(work, ignore_errors=True)  # the S3 data and generated recordings: gigabytes per run
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
