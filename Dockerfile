FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /srv/footage

COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY scripts/verify_bundle.py ./scripts/
COPY storage/README.md storage/buckets.json ./storage/
RUN pip install -e . && useradd --system --home /srv/footage footage && chown -R footage /srv/footage
USER footage

EXPOSE 8000
CMD ["footage", "serve", "--host", "0.0.0.0", "--port", "8000"]
