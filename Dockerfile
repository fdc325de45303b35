# syntax=docker/dockerfile:1
# Cohortbot: `docker build -t cohortbot .`; see docker-compose.yml for PostgreSQL + two replicas.

# -- build: the wheel, with the content banks and migrations inside it ----------------------
FROM python:3.11-slim AS builder
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY cohortbot ./cohortbot
COPY content ./content
COPY migrations ./migrations
RUN pip install --no-cache-dir --upgrade pip \
 && pip wheel --no-cache-dir --no-deps -w /dist .

# -- runtime: only the installed wheel, run as an unprivileged user -------------------------
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    COHORTBOT_HOST=0.0.0.0 \
    COHORTBOT_PORT=3000 \
    COHORTBOT_LOG_FORMAT=json
COPY --from=builder /dist/*.whl /tmp/
RUN pip install --no-cache-dir /tmp/*.whl \
 && rm /tmp/*.whl \
 && useradd --create-home --uid 10001 --shell /usr/sbin/nologin cohortbot \
 && mkdir -p /data && chown cohortbot:cohortbot /data
COPY --chmod=0755 docker/entrypoint.sh /usr/local/bin/cohortbot-entrypoint
USER cohortbot
# The SQLite default lands in the volume; compose sets PostgreSQL instead.
WORKDIR /data
ENV COHORTBOT_DATABASE_URL=sqlite:////data/cohortbot.db \
    COHORTBOT_EXPORT_DIR=/data/exports
VOLUME ["/data"]
EXPOSE 3000
# slim has no curl: ask /healthz with the interpreter that is already there.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${COHORTBOT_PORT:-3000}/healthz', timeout=4)" || exit 1
ENTRYPOINT ["cohortbot-entrypoint"]
CMD ["serve"]
