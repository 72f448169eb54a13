"""Build the project's images and bring them up for real (scripts/container_test.sh).

Podman on a stand-in base image (no registry is reachable here, docs/PLATFORM), the images of
docker/greenr.Dockerfile and serving/Dockerfile, their containers side by side in one pod, then the
same services through podman-compose; each answers its health check and one prediction.
"""
