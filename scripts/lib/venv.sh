# shellcheck shell=bash
# Creating a project virtualenv with Python 3.11, and installing greenr into one without racing
# another install; sourced by scripts/setup.sh and serving_setup.sh, which define say and die.

# ensure_venv DIR: create the virtualenv DIR unless it exists, with $GREENR_PYTHON, else
# python3.11, else python3; dies unless that interpreter is Python 3.11.
ensure_venv() {
    local venv="$1" python="${GREENR_PYTHON:-}" candidate version
    if [[ -x "$venv/bin/python" ]]; then
        say "$venv exists"
        return 0
    fi
    if [[ -z "$python" ]]; then
        for candidate in python3.11 python3; do
            if command -v "$candidate" >/dev/null 2>&1; then
                python="$candidate"
                break
            fi
        done
    fi
    [[ -n "$python" ]] || die "no python3.11 or python3 found: install Python 3.11 (Debian: apt-get install python3 python3-venv)"
    version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
        || die "$python does not run"
    [[ "$version" == "3.11" ]] || die "$python is Python $version, the project needs 3.11 (set GREENR_PYTHON)"
    say "creating $venv with $python (Python $version)"
    "$python" -m venv "$venv" || die "'$python -m venv' failed (Debian: apt-get install python3-venv)"
}

# with_source_tree REPO COMMAND...: run COMMAND holding a lock on REPO/pyproject.toml. An editable
# install (`pip install -e REPO`) writes REPO/greenr.egg-info, and scripts/test.sh builds .venv
# and .venv-serving at the same time: their two editable installs take turns (flock, util-linux).
with_source_tree() {
    local repo="$1"
    shift
    flock "$repo/pyproject.toml" "$@"
}
