# One image for the four OTS services and the one-shot administration commands:
#   docker run IMAGE serve intake|dispatch|recording|metrics
#   docker run IMAGE migrate        docker run IMAGE streams --replicas 3
# Dependencies come pinned from requirements.lock (only those the package needs at run time),
# then the package itself; the image runs as an unprivileged user and checks its own /healthz.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/ots
WORKDIR /src
# The dependency layer changes only with pyproject.toml or the lock, not with the code.
COPY pyproject.toml requirements.lock ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > runtime-requirements.txt \
    && /opt/ots/bin/pip install --requirement runtime-requirements.txt --constraint requirements.lock
COPY contracts ./contracts
COPY ots ./ots
COPY ots_runtime ./ots_runtime
COPY services ./services
# The gateway SDK, which the simulator's tablets use (packaged with `ots*` from here).
COPY gateway/ots_gateway ./ots_gateway
RUN /opt/ots/bin/pip install --no-deps . \
    && /opt/ots/bin/pip check \
    && /opt/ots/bin/python -m compileall -q /opt/ots/lib

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="ots" \
      org.opencontainers.image.description="On the Spot population-administration services: intake, dispatch, recording, metrics"
RUN groupadd --system --gid 10001 ots \
    && useradd --system --uid 10001 --gid ots --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin ots
COPY --from=build /opt/ots /opt/ots
COPY deploy/docker/healthcheck.py /opt/ots/healthcheck.py
# Listen on every interface; keep what little the process writes (matplotlib's font cache,
# `ots run`'s data) under /tmp, so the root filesystem can be mounted read-only.
ENV PATH=/opt/ots/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OTS_ENV=production \
    OTS_BIND_HOST=0.0.0.0 \
    OTS_DATA_DIR=/tmp/ots \
    MPLCONFIGDIR=/tmp/matplotlib
WORKDIR /app
USER 10001:10001
EXPOSE 8080 8081 8082 8083
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/opt/ots/healthcheck.py"]
ENTRYPOINT ["ots"]
CMD ["serve", "intake"]
