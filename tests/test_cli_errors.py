"""Errors are one line of readable length; the full text is kept (issue 14, Hostile and huge input)."""

from __future__ import annotations

from mirrorkit.cli import ERROR_LOG, MAX_ERROR_CHARS

LONG = "bad registry " + "x" * 3000 + " END-OF-TEXT"


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("mirrorkit: error:")]


def test_long_error_is_cut_and_kept_in_the_output_folder(cli_run, tmp_path):
    bundle, out = tmp_path / "bundle", tmp_path / "out"
    bundle.mkdir()
    out.mkdir()
    code, _, err = cli_run("push", bundle, "--target-registry", LONG, "--target-npm", "http://127.0.0.1:9", "-o", out)
    assert code == 2
    [line] = _error_lines(err)
    assert len(line) <= len("mirrorkit: error: ") + MAX_ERROR_CHARS, len(line)
    assert line.endswith(f"... (full text in {out / ERROR_LOG})"), line[-120:]
    kept = (out / ERROR_LOG).read_text()
    assert "END-OF-TEXT" in kept and kept.count("\n") == 1


def test_long_error_without_a_folder_points_at_debug_which_prints_it_all(cli_run, tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    code, _, err = cli_run("verify", bundle, "--allow-unsigned", "--target-registry", LONG)
    assert code == 2
    [line] = _error_lines(err)
    assert len(line) <= len("mirrorkit: error: ") + MAX_ERROR_CHARS and line.endswith("... (--debug for all)")
    code, _, err = cli_run("--debug", "verify", bundle, "--allow-unsigned", "--target-registry", LONG)
    [line] = _error_lines(err)
    assert code == 2 and "END-OF-TEXT" in line and "--debug for all" not in line


def test_short_error_is_printed_whole_on_one_line(cli_run, tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    code, _, err = cli_run("verify", bundle, "--allow-unsigned", "--target-registry", "bad registry")
    [line] = _error_lines(err)
    assert code == 2 and "... (" not in line and "bad registry" in line
