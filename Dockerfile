# narrative-archive: the scheduler and Datasette from one image (see docker-compose.yml).
#   docker build -t narrative-archive .
#   docker run -v narrative-archive:/data narrative-archive                    # the scheduler
#   docker run -v narrative-archive:/data -p 8001:8001 narrative-archive \
#       narrative-archive serve --host 0.0.0.0                                  # Datasette
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The package (narrative_archive, with spiders/ and scheduler/ mapped into it).
COPY pyproject.toml README.md ./
COPY narrative_archive ./narrative_archive
COPY spiders ./spiders
COPY scheduler ./scheduler
RUN pip install . && rm -rf build *.egg-info

# Config and the Datasette directory are data, not Python: they live in /app and the
# environment points at them. Mount your own config over /app/config to change
# outlets, narratives or the schedule (a file there replaces the default of that name,
# so keep all three there).
COPY config ./config
COPY datasette ./datasette

RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin archive \
    && mkdir -p /data && chown archive:archive /data

ENV NARRATIVE_ARCHIVE_DB=/data/archive.db \
    NARRATIVE_ARCHIVE_CONFIG=/app/config \
    NARRATIVE_ARCHIVE_DATASETTE=/app/datasette

USER archive
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8001

# The scheduler exits 0 on SIGTERM after giving running crawls --grace seconds (30 by
# default): give `docker stop` more than that (docker stop -t 60; compose: stop_grace_period).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-m", "narrative_archive.scheduler.lock"]
CMD ["narrative-archive", "schedule"]
