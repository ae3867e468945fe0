# hubbub's container image: `docker build -t hubbub .`, or `docker compose up` (compose.yml).
#
# Two stages: `build` installs the locked dependencies and hubbub itself into a virtual
# environment; `runtime` copies that environment onto a clean slim image and runs it as
# an unprivileged user. The web client's committed build (src/hubbub/web) is package
# data, so it is installed with the package.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/hubbub
WORKDIR /src
# The dependencies first, from the lock file alone: this layer is rebuilt only when the
# lock changes, not at every change of hubbub's code.
COPY requirements.lock ./
RUN /opt/hubbub/bin/pip install -r requirements.lock
COPY pyproject.toml README.md ./
COPY src ./src
RUN /opt/hubbub/bin/pip install --no-deps . && /opt/hubbub/bin/hubbub --version

FROM ${PYTHON_IMAGE} AS runtime
# A dedicated user owns the data volume; nothing in the image runs as root.
RUN groupadd --system --gid 10001 hubbub \
    && useradd --system --uid 10001 --gid hubbub --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin hubbub \
    && mkdir -p /data/uploads \
    && chown -R hubbub:hubbub /data
COPY --from=build /opt/hubbub /opt/hubbub
# Listening on every interface is right inside a container only: the port is reachable
# from outside once published (compose.yml publishes it on 127.0.0.1). Outside a
# container the default stays 127.0.0.1.
ENV PATH=/opt/hubbub/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HUBBUB_HOST=0.0.0.0 \
    HUBBUB_PORT=8000 \
    HUBBUB_DATA_DIR=/data
VOLUME ["/data"]
WORKDIR /data
USER hubbub:hubbub
EXPOSE 8000
# Healthy once /readyz answers 200 (database reachable, Redis connected where set).
# The slim image has no HTTP client command; Python's standard library is one.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('HUBBUB_PORT', '8000') + '/readyz', timeout=4)"]
ENTRYPOINT ["hubbub"]
CMD ["serve"]
