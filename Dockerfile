# Image for the worker, sinks and CLI when deploying with Docker (docker compose up).
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY streams ./streams
COPY connectors ./connectors
COPY tension ./tension
COPY seeds ./seeds
RUN pip install '.[registry,postgres]' && useradd --create-home tension && mkdir -p /data && chown tension /data
USER tension
ENTRYPOINT ["tension"]
CMD ["--help"]
