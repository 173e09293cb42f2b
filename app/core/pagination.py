"""`limit`/`offset` query parameters with a cap, shared by every list endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

MAX_LIMIT = 500
MAX_OFFSET = 2**31 - 1  # beyond any list this service holds, and inside what PostgreSQL takes as an OFFSET


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int


# async: a plain function would be run in the threadpool, a hop of its own on every list call
async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")] = 0,
) -> PageParams:
    return PageParams(limit, offset)


PageDep = Annotated[PageParams, Depends(page_params)]
