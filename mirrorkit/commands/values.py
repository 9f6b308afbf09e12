"""`mirrorkit values`: Helm values and dynamic-plugins ConfigMap pointing RHDH at the local npm server."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mirrorkit.commands._args import CheckedCommand, http_url
from mirrorkit.commands._shared import NPM_TOKEN_RENAMES, npm_token_option
from mirrorkit.errors import CheckFailed
from mirrorkit.install.values import DEFAULT_CONFIGMAP_NAME, write_dynamic_plugins_configmap, write_values
from mirrorkit.npm import check_served, read_index


@click.command(
    "values",
    cls=CheckedCommand,
    renamed={"--npm-registry": ("--target-npm",), **NPM_TOKEN_RENAMES},
    checks=(http_url("npm_url", "--target-npm"),),
)
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--target-npm",
    "npm_url",
    required=True,
    metavar="URL",
    help="The npm server the packages were published to, as the cluster reaches it.",
)
@click.option(
    "--values-in",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="An existing values.yaml to merge into (its other keys and plugins are kept).",
)
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory receiving values.yaml (Helm) and dynamic-plugins.yaml (Operator ConfigMap).",
)
@click.option(
    "--configmap-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the ConfigMap here instead of OUT/dynamic-plugins.yaml.",
)
@click.option(
    "--configmap-name",
    default=DEFAULT_CONFIGMAP_NAME,
    show_default=True,
    help="metadata.name of the ConfigMap (the Backstage CR's dynamicPluginsConfigMapName).",
)
@click.option("--namespace", default=None, help="metadata.namespace of the ConfigMap (omitted by default).")
@click.option(
    "--plugin-config/--no-plugin-config",
    default=True,
    show_default=True,
    help="Give the Orchestrator plugins the pluginConfig the RHDH chart and docs give them (values.yaml: the "
    "chart's defaults, which an orchestrator.plugins override would otherwise drop; ConfigMap: also "
    "dependencies). --no-plugin-config writes only disabled/package/integrity.",
)
@click.option(
    "--check/--no-check",
    default=True,
    show_default=True,
    help="First download every tarball from the npm server and compare its sha512 with the index.",
)
@npm_token_option
@click.option("--json", "as_json", is_flag=True, help="Print the written files and checks as JSON.")
def values(
    directory: Path,
    npm_url: str,
    values_in: Path | None,
    out_dir: Path,
    configmap_out: Path | None,
    configmap_name: str,
    namespace: str | None,
    plugin_config: bool,
    check: bool,
    npm_token: str | None,
    as_json: bool,
) -> None:
    """Write values.yaml and the dynamic-plugins ConfigMap for the plugins in a mirror directory.

    \b
    DIRECTORY is a mirror directory from 'mirrorkit npm pull' (or a bundle holding it under npm/).
    Every plugin is listed by the tarball URL the npm server serves,
    <npm server>/@scope/name/-/name-<version>.tgz, with the sha512 integrity recorded at pull time.
    With --check (default) nothing is written unless the server serves exactly those bytes.
    """
    index = read_index(directory)
    checks = check_served(index, npm_url, token=npm_token) if check else []
    bad = [c for c in checks if not c.ok]
    if bad:
        for c in bad:
            click.echo(f"failed: {c.name}@{c.version}: {c.reason}", err=True)
        raise CheckFailed(
            f"{len(bad)} of {len(checks)} plugins are not served by {npm_url} with the mirrored integrity",
            ", ".join(f"{c.name}@{c.version}" for c in bad),
            "publish them first with 'mirrorkit npm publish', or pass --no-check to write the files anyway",
        )
    values_path = write_values(index, npm_url, out_dir / "values.yaml", values_in, plugin_config=plugin_config)
    cm_path = write_dynamic_plugins_configmap(
        index,
        npm_url,
        configmap_out or out_dir / "dynamic-plugins.yaml",
        name=configmap_name,
        namespace=namespace,
        plugin_config=plugin_config,
    )
    if as_json:
        click.echo(
            json.dumps(
                {"values": str(values_path), "configmap": str(cm_path), "checked": [c.to_dict() for c in checks]}, indent=2
            )
        )
    else:
        click.echo(f"wrote {values_path}")
        click.echo(f"wrote {cm_path}")
