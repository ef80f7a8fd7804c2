# syntax=docker/dockerfile:1
# The `supporter` command in a slim image: every stage (`worker analyze|respond|sink`),
# `ingest`, `status`, `db upgrade` ... is the same image with other arguments.
# No configuration or secret is baked in: pass SUPPORTER_* and OPENAI_API_KEY at run time.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/supporter
WORKDIR /src
# What the wheel is built from, and nothing else (see .dockerignore).
COPY pyproject.toml README.md ./
COPY src ./src
RUN /opt/supporter/bin/pip install .

FROM python:3.11-slim
ENV PATH=/opt/supporter/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN groupadd --system --gid 10001 supporter \
    && useradd --system --uid 10001 --gid supporter --home-dir /data --shell /usr/sbin/nologin supporter \
    && mkdir /data \
    && chown supporter:supporter /data
COPY --from=build /opt/supporter /opt/supporter
USER supporter
# Relative defaults (rejects.jsonl, supporter.db, supporter-llm-cache.db) land here;
# mount a volume on /data to keep them.
WORKDIR /data
ENTRYPOINT ["supporter"]
CMD ["--help"]
