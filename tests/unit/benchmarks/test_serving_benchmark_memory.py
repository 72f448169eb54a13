"""The serving benchmark finds the model server the stack's model deployer runs."""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.serving_benchmark import model_server_pid_file, tree_rss_mb


def test_the_newest_service_folder_holds_the_running_servers_pid(tmp_path: Path) -> None:
    old = tmp_path / "model-server" / "old-service" / "service.pid"
    new = tmp_path / "model-server" / "new-service" / "service.pid"
    for path, moment in ((old, 1_000_000), (new, 2_000_000)):
        path.parent.mkdir(parents=True)
        path.write_text(f"{os.getpid()}\n")
        os.utime(path, (moment, moment))
    assert model_server_pid_file(tmp_path) == new
    rss = tree_rss_mb(new)  # this test process stands in for the server
    assert rss is not None
    assert rss > 1


def test_no_server_gives_no_memory_figure_rather_than_a_crash(tmp_path: Path) -> None:
    assert tree_rss_mb(model_server_pid_file(tmp_path)) is None
