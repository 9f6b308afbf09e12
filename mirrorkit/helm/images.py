"""Which strings in a rendered chart oc-mirror takes as images.

oc-mirror reads every rendered document at its default JSONPaths plus the chart's ``imagePaths``,
splits each value on spaces, and keeps what its own reference parser accepts: a tag or a digest is
required (``nginx`` alone is dropped), nothing is normalised (``nginx:1.25`` stays as written). The
same rules here keep plan and oc-mirror's mapping in step.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import yaml

from mirrorkit import yamlgo
from mirrorkit.helm.jsonpath import DEFAULT_PATHS, JsonPath
from mirrorkit.helm.render import ChartError

_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[A-Za-z0-9=_-]+$")


def image_paths(extra: Iterable[str]) -> tuple[JsonPath, ...]:
    """oc-mirror's default paths followed by the chart's own."""
    return tuple(JsonPath.parse(text) for text in (*DEFAULT_PATHS, *extra))


def takes_as_image(text: str) -> bool:
    """True when oc-mirror's reference parser accepts *text* as a docker image with a tag or a digest."""
    name = text.removeprefix("docker://")
    if not name or "://" in name:
        return False  # another transport: not an image oc-mirror can copy from a registry
    digest = ""
    if "@" in name:
        name, _, digest = name.partition("@")
        if not _DIGEST.match(digest):
            return False
    tag = ""
    colon, slash = name.rfind(":"), name.find("/")
    if colon >= 0 and (slash < 0 or colon > slash):
        name, tag = name[:colon], name[colon + 1 :]
    return bool(name) and bool(tag or digest)


def find_images(documents: Sequence[str], paths: Sequence[JsonPath], chart: str) -> list[str]:
    """Images in *documents* (in order, repeats kept as oc-mirror keeps them); a document Go's YAML
    parser would refuse fails the chart, as it fails it in oc-mirror."""
    found: list[str] = []
    for number, text in enumerate(documents, 1):
        try:
            document = yamlgo.load(text)
        except yaml.YAMLError as exc:
            raise ChartError(f"chart {chart}: rendered document {number} is not YAML", str(exc).splitlines()[0]) from exc
        for path in paths:
            for value in path.strings(document):
                found.extend(word.removeprefix("docker://") for word in value.split(" ") if takes_as_image(word))
    return found
