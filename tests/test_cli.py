"""The CLI's contract: --help, --version, one-line errors with the right exit code."""

from __future__ import annotations

import subprocess
import sys

from mirrorkit import __version__


def test_version(cli_run):
    code, out, _ = cli_run("--version")
    assert code == 0
    assert out.strip() == f"mirrorkit {__version__}"


def test_help_lists_commands_with_purpose(cli_run):
    import click

    from mirrorkit.cli import cli

    code, out, _ = cli_run("--help")
    assert code == 0
    ctx = click.Context(cli)
    names = cli.list_commands(ctx)
    assert {"pack", "push", "verify", "keygen", "imageset", "profiles", "npm", "values", "mirror", "bundle-images"} <= set(names)
    for name in names:
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name
        purpose = command.get_short_help_str()
        assert purpose, f"{name} has no one-line purpose"
        assert f"  {name} " in out and purpose[:20] in out


def test_unknown_option_is_one_line_exit_2(cli_run):
    code, out, err = cli_run("--no-such-option")
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert "--no-such-option" in lines[0]
    assert "Traceback" not in err


def test_python_dash_m_runs_the_same_cli():
    proc = subprocess.run([sys.executable, "-m", "mirrorkit", "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"mirrorkit {__version__}"


def test_error_rendering_redacts_secrets():
    from mirrorkit.errors import AuthError

    err = AuthError(
        "registry.example.com refused credentials",
        "server said: Authorization: Bearer abcdef123456 for https://user:hunter22@registry.example.com",
        "check the auth file",
    )
    text = str(err)
    assert "abcdef123456" not in text and "hunter22" not in text
    assert "registry.example.com refused credentials" in text
    assert err.exit_code == 1
