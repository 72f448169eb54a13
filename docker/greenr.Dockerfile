# syntax=docker/dockerfile:1
# The greenr images built from the main environment (pyproject.toml's pins), one target each:
#   docker build -f docker/greenr.Dockerfile --target api       -t greenr-api .
#   docker build -f docker/greenr.Dockerfile --target web       -t greenr-web .
#   docker build -f docker/greenr.Dockerfile --target pipelines -t greenr-pipelines .
# `pipelines` is the parent image ZenML's Kaniko builder extends for the Kubernetes orchestrator
# (greenr/deployment/container_settings.py) and also runs the MLflow server (compose, k8s).
# The model server has its own image and environment: serving/Dockerfile.
# Behind a TLS-intercepting proxy, pass its CA: --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt
# (used by pip only, never stored in a layer).

# --- builder: a virtual environment with the project's dependencies (no project code) ---------
FROM python:3.11.7-slim-bookworm AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /build
# Only pyproject.toml: this slow layer (TensorFlow, ZenML, MLflow) is rebuilt only when the pins change.
COPY pyproject.toml ./
RUN --mount=type=secret,id=ca,required=false \
    if [ -f /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
    && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && pip install -r requirements.txt \
    && find /opt/venv -name '__pycache__' -type d -prune -exec rm -rf {} +

# --- runtime: the slim base, the environment, an unprivileged user ---------------------------
FROM python:3.11.7-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    GREENR_HOME=/var/lib/greenr \
    MALLOC_ARENA_MAX=2
RUN useradd --create-home --uid 10001 greenr \
    && mkdir -p /var/lib/greenr \
    && chown greenr:greenr /var/lib/greenr
COPY --from=builder /opt/venv /opt/venv
# The code runs from /app (not installed): greenr.settings.REPO_ROOT is /app, so configs/ and
# the other repository files are found where the code expects them.
WORKDIR /app
COPY greenr greenr

# --- the prediction API ---------------------------------------------------------------------------
FROM runtime AS api
ENV GREENR_API_HOST=0.0.0.0 \
    GREENR_API_PORT=8000
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
CMD ["python", "-m", "greenr.api"]

# --- the web app ----------------------------------------------------------------------------------
FROM runtime AS web
COPY ui ui
ENV GREENR_UI_HOST=0.0.0.0 \
    GREENR_UI_PORT=8080 \
    NICEGUI_STORAGE_PATH=/var/lib/greenr/nicegui
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/', timeout=4)"]
CMD ["python", "-m", "ui"]

# --- the pipelines (ZenML steps on the Kubernetes orchestrator; the MLflow server) -------------
FROM runtime AS pipelines
COPY steps steps
COPY pipelines pipelines
COPY materializers materializers
COPY stacks stacks
COPY configs configs
COPY benchmarks/results benchmarks/results
COPY run.py ./
USER 10001
CMD ["python", "run.py", "--help"]
