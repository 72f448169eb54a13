"""Build the images and bring the serving containers up for real; run by scripts/container_test.sh.

python -m greenr.containers check [--skip-build] [--output FILE] [--photo JPEG] [--base-archive TAR]
    stand-in base (made if absent), the four images (layer cache), the model server, API and web
    app in one pod, then through podman-compose: health, HEALTHCHECK, one classified photo,
    non-root; removes what it started; prints and writes build time and size per image
python -m greenr.containers clean
    remove what a run left behind (containers, pods, volumes, networks, the compose project)

Exit status 0 when every check passed, 1 otherwise (the message says which and why).
Needs root podman with CONTAINERS_CONF set (the script sets it: docker/containers.conf).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from greenr.containers.cleanup import clean, last_logs
from greenr.containers.engine import EngineError, Podman
from greenr.containers.images import CA_BUNDLE, IMAGES, BuildResult, build_image
from greenr.containers.probes import ProbeError
from greenr.containers.results import results_document, table, write_results
from greenr.containers.runs import RunReport, compose_run, pod_run
from greenr.containers.stand_in_base import APT_SOURCES, debian_mirror, dockerfile_base, ensure_base
from greenr.containers.stand_in_model import write_artifact
from greenr.provenance import git_commit
from greenr.settings import DEFAULT_SOURCE, REPO_ROOT

WORKDIR = REPO_ROOT / ".greenr" / "containers"
MODEL_DIR = WORKDIR / "model"
DEFAULT_OUTPUT = WORKDIR / "containers.json"


def say(message: str) -> None:
    print(f"[container-test] {message}", flush=True)


def first_photo(source: Path) -> Path:
    photos = sorted((source / "dandelion").glob("*.jpg"))
    if not photos:
        raise SystemExit(f"no photo under {source / 'dandelion'}: pass --photo PATH to a JPEG")
    return photos[0]


def check(podman: Podman, skip_build: bool, output: Path, photo: Path, base_archive: Path | None) -> None:
    """The whole run; raises on the first failed check (the caller cleans up)."""
    started = time.monotonic()
    commit = git_commit(REPO_ROOT)  # the code the images are built from: before anything runs
    dockerfiles = [REPO_ROOT / spec.dockerfile for spec in IMAGES]
    mirror = debian_mirror(APT_SOURCES.read_text()) if APT_SOURCES.is_file() else debian_mirror("")
    base = ensure_base(podman, dockerfile_base(dockerfiles), WORKDIR, mirror, base_archive)
    say(f"base {base.image}: {base.origin} in {base.seconds:.1f} s")
    builds: list[BuildResult] = []
    if not skip_build:
        ca = CA_BUNDLE if CA_BUNDLE.is_file() else None
        for spec in IMAGES:
            result = build_image(podman, spec, REPO_ROOT, WORKDIR / f"build-{spec.name}.log", ca)
            builds.append(result)
            say(f"built {result.image} in {result.seconds:.1f} s, {result.size_bytes / 1e6:.0f} MB")
    metadata = write_artifact(MODEL_DIR)
    say(f"published the stand-in model {metadata.model_name} v{metadata.version} in {MODEL_DIR}")
    runs: list[RunReport] = []
    compose_env = {"GREENR_TEST_MODEL_DIR": str(MODEL_DIR)}
    starts: list[Callable[[], RunReport]] = [
        lambda: pod_run(podman, MODEL_DIR, photo, say),
        lambda: compose_run(podman, REPO_ROOT, MODEL_DIR, photo, compose_env, say),
    ]
    for start in starts:
        report = start()
        runs.append(report)
        say(
            f"{report.how}: ready after {report.ready_seconds} s, uids {report.uids}, "
            f"{photo.name} -> {report.prediction.get('label')} {report.prediction.get('probabilities')}, "
            f"stopped in {report.stop_seconds} s"
        )
        for problem in clean(podman, REPO_ROOT, MODEL_DIR, say):
            say(f"clean-up: {problem}")
    document = results_document(
        commit,
        podman.run(["info", "--format", "{{.Store.GraphRoot}}"]).strip(),
        base,
        builds,
        runs,
        time.monotonic() - started,
    )
    write_results(output, document)
    print(table(document))
    say(f"all checks passed; results in {output}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m greenr.containers", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("check", help="build, run and check (see above)")
    run.add_argument("--skip-build", action="store_true", help="check the images already built")
    run.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"results JSON ({DEFAULT_OUTPUT})")
    run.add_argument("--photo", type=Path, help="the JPEG to classify (default: the first dandelion)")
    run.add_argument(
        "--base-archive",
        type=Path,
        help="a podman save archive of the stand-in base: loaded when the image store lacks it, "
        "written when it is made (point a CI cache at it)",
    )
    commands.add_parser("clean", help="remove what a run left behind")
    args = parser.parse_args(argv)
    podman = Podman()
    if args.command == "clean":
        problems = clean(podman, REPO_ROOT, MODEL_DIR, say)
        for problem in problems:
            say(f"clean-up: {problem}")
        return 1 if problems else 0
    try:
        photo = args.photo or first_photo(DEFAULT_SOURCE)
        check(podman, args.skip_build, args.output, photo, args.base_archive)
    except (EngineError, ProbeError, ValueError) as error:
        print(last_logs(podman))
        say(f"FAILED: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
