"""One mirrorkit at a time on a folder (mirrorkit/outlock.py): refusal naming the holder, release, stale holders."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mirrorkit.errors import BundleError
from mirrorkit.outlock import FolderBusy, folder_lock, lock_path

HOLD = (
    "import sys, time; from pathlib import Path; from mirrorkit.outlock import folder_lock\n"
    "with folder_lock(Path(sys.argv[1]), 'pack'):\n    print('held', flush=True)\n    time.sleep(60)\n"
)


def _holder(folder: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_lock_file_is_a_hidden_sibling_never_inside_the_folder(tmp_path):
    assert lock_path(tmp_path / "bundle") == tmp_path / ".bundle.mirrorkit-lock"


def test_second_holder_refuses_at_once_naming_the_pid(tmp_path):
    folder = tmp_path / "bundle"
    with folder_lock(folder, "pack"):
        started = time.monotonic()
        with pytest.raises(FolderBusy) as refused, folder_lock(folder, "push", shared=True):
            pass
        assert time.monotonic() - started < 1
    text = str(refused.value)
    assert f"mirrorkit pack (pid {os.getpid()})" in text and str(folder) in text and "run the command again" in text
    assert refused.value.exit_code == 1
    with folder_lock(folder, "pack"):  # released on exit
        assert lock_path(folder).read_text().split() == [str(os.getpid()), "pack"]
    assert lock_path(folder).read_text() == ""  # a released lock names no one


def test_another_process_holding_is_named_and_its_death_frees_the_lock(tmp_path):
    folder = tmp_path / "bundle"
    proc = _holder(folder)
    try:
        with pytest.raises(FolderBusy, match=rf"in use by mirrorkit pack \(pid {proc.pid}\)"), folder_lock(folder, "pack"):
            pass
    finally:
        proc.send_signal(signal.SIGKILL)  # no cleanup runs: the kernel releases the flock
        proc.wait(timeout=30)
    with folder_lock(folder, "pack"):
        pass


def test_shared_holders_exclude_a_writer_not_each_other(tmp_path):
    folder = tmp_path / "bundle"
    with folder_lock(folder, "push", shared=True), folder_lock(folder, "push", shared=True):
        with pytest.raises(FolderBusy, match="in use by mirrorkit push"), folder_lock(folder, "pack"):
            pass


def test_shared_lock_beside_a_read_only_folder_is_skipped(tmp_path):
    parent = tmp_path / "media"
    (parent / "bundle").mkdir(parents=True)
    parent.chmod(0o555)
    try:
        if os.access(parent, os.W_OK):
            pytest.skip("running as root: a read-only folder cannot be simulated")
        with folder_lock(parent / "bundle", "push", shared=True):
            pass
        with pytest.raises(BundleError, match="cannot create the lock file"), folder_lock(parent / "bundle", "pack"):
            pass
    finally:
        parent.chmod(0o755)


def test_push_refuses_a_bundle_a_pack_is_writing_and_an_install_folder_in_use(tmp_path, cli_run):
    """push takes the bundle shared and its output folder exclusively, before it verifies anything."""
    bundle, out = tmp_path / "bundle", tmp_path / "install"
    bundle.mkdir()
    args = ("push", bundle, "--target-registry", "127.0.0.1:9/x", "--target-npm", "http://127.0.0.1:9/", "--output", out)
    with folder_lock(bundle, "pack"):
        code, _out, err = cli_run(*args)
    assert code == 1 and "in use by mirrorkit pack" in err and f"pid {os.getpid()}" in err
    with folder_lock(out, "push"):
        code, _out, err = cli_run(*args)
    assert code == 1 and "in use by mirrorkit push" in err
    assert not (out / "report.json").exists(), "a refused push writes nothing into a folder another push owns"
