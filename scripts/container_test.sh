#!/usr/bin/env bash
# Build the four images and bring the serving containers up for real (issue 15): the stand-in
# base image (made once, then kept), the images with podman's layer cache, the model server, API
# and web app in one pod and then through podman-compose (compose.yaml + compose/container-test.yaml),
# each checked for its health route, its HEALTHCHECK, one classified photo and a non-root user.
# Prints build time and size per image and writes them, with the commit, to
# .greenr/containers/containers.json (or the file given with --output).
#
#   bash scripts/container_test.sh [--skip-build] [--output FILE] [--photo JPEG] [--base-archive TAR]
#
# --base-archive: a `podman save` archive of the stand-in base, loaded when the image store lacks
# the base and written when it is made (a CI cache path; the image store itself is kept otherwise).
#
# Needs root, podman, runc, catatonit (pods, compose's init: true), the CNI plugin for service
# names (Debian golang-github-containernetworking-plugin-dnsname), debootstrap the first time, and
# podman-compose in .venv (dev extras). docs/deployment.md, "Built and run for real".
# CONTAINERS_CONF defaults to docker/containers.conf (this machine's runtime settings); set
# CONTAINERS_STORAGE_CONF to build in another image store (a clean-machine run). Whatever the
# outcome, everything it started is stopped and removed (trap).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$REPO/docker/containers.conf}"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
PYTHON="$REPO/.venv/bin/python"

trap '"$PYTHON" -m greenr.containers clean || true' EXIT
"$PYTHON" -m greenr.containers check "$@"
