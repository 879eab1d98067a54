# Image for the worker, sinks and CLI when deploying with Docker (docker compose up).
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
# relative data paths (stores, worker state) land on /data, the volume, not in /app
ENV TENSION_HOME=/data
WORKDIR /app
COPY pyproject.toml setup.py README.md ./
COPY schemas ./schemas
COPY streams ./streams
COPY classifier_lab ./classifier_lab
COPY connectors ./connectors
COPY tension ./tension
COPY dashboard ./dashboard
COPY devenv ./devenv
COPY seeds ./seeds
# gcc only while installing: setup.py compiles the classifier's hot modules (mypyc).
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && pip install '.[registry,postgres]' \
    && apt-get purge -y gcc libc6-dev && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home tension && mkdir -p /data && chown tension /data
USER tension
ENTRYPOINT ["tension"]
CMD ["--help"]
