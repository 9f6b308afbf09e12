"""Where the cluster will pull each image from: the IDMS/ITMS oc-mirror wrote after disk-to-mirror.

oc-mirror's ``cluster-resources/idms-oc-mirror.yaml`` (``ImageDigestMirrorSet``,
``spec.imageDigestMirrors``) and ``itms-oc-mirror.yaml`` (``ImageTagMirrorSet``,
``spec.imageTagMirrors``) map a *source* (a registry, a namespace or a whole repository) to one or
more *mirrors*. They are the truth the cluster acts on, so a target check that follows them proves
what the cluster will find, including repositories renamed with ``targetRepo`` or flattened paths that
no path convention can guess. The legacy ``ImageContentSourcePolicy`` (``repositoryDigestMirrors``)
is read the same way.

Matching follows OpenShift's rule: a source matches an image when it equals the image's
``registry/repository`` or is a prefix of it ending at a ``/``; the longest source wins and the rest
of the image's path is appended to each mirror. Images no rule matches fall back to the path
convention (:func:`mirrorkit.bundle.targets.target_reference`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from mirrorkit.errors import InputError

#: kind -> the spec key that holds its ``{source, mirrors}`` list.
KINDS = {
    "ImageDigestMirrorSet": "imageDigestMirrors",
    "ImageTagMirrorSet": "imageTagMirrors",
    "ImageContentSourcePolicy": "repositoryDigestMirrors",
}
SUFFIXES = (".yaml", ".yml", ".json")
CLUSTER_RESOURCES = "cluster-resources"


@dataclass(frozen=True, order=True)
class MirrorRule:
    """One ``{source, mirrors}`` entry and the object it came from (for the report)."""

    source: str
    mirrors: tuple[str, ...]
    kind: str
    origin: str

    def matches(self, repository: str) -> bool:
        return repository == self.source or repository.startswith(self.source + "/")


@dataclass(frozen=True)
class MirrorMatch:
    """Where one image should be: every mirror repository (in the rule's order) and the rule used."""

    repositories: tuple[str, ...]
    rule: MirrorRule

    @property
    def via(self) -> str:
        return f"{self.rule.kind} {self.rule.origin}"


@dataclass(frozen=True)
class MirrorSets:
    rules: tuple[MirrorRule, ...] = ()

    @classmethod
    def load(cls, folder: Path) -> MirrorSets:
        """Every IDMS/ITMS/ICSP rule in the YAML/JSON files under *folder* (push's output folder or its
        ``cluster-resources/``). Refuses a folder without any, and files that are not what they claim."""
        root = Path(folder)
        if (root / CLUSTER_RESOURCES).is_dir():
            root = root / CLUSTER_RESOURCES
        if not root.is_dir():
            raise InputError(
                f"cluster resources folder {folder} does not exist",
                hint="give the cluster-resources/ folder written by 'mirrorkit push' or oc-mirror",
            )
        rules: list[MirrorRule] = []
        for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in SUFFIXES):
            rules += _rules_in(path)
        if not rules:
            raise InputError(
                f"no ImageDigestMirrorSet or ImageTagMirrorSet in {root}",
                hint="give the cluster-resources/ folder written by disk-to-mirror (idms-oc-mirror.yaml, itms-oc-mirror.yaml)",
            )
        return cls(tuple(rules))

    def match(self, repository: str) -> MirrorMatch | None:
        """The mirror repositories for an image's ``registry/repository`` (longest source wins; on a
        tie a digest mirror set beats a tag mirror set), or None when no rule covers it."""
        candidates = [r for r in self.rules if r.matches(repository)]
        if not candidates:
            return None
        order = list(KINDS)
        best = max(candidates, key=lambda r: (len(r.source), -order.index(r.kind)))
        rest = repository[len(best.source) :]
        return MirrorMatch(tuple(m + rest for m in best.mirrors), best)


def _rules_in(path: Path) -> list[MirrorRule]:
    def bad(why: str) -> InputError:
        return InputError(
            f"cannot read mirror sets from {path}", why, "give the cluster-resources/ folder exactly as oc-mirror wrote it"
        )

    try:
        with open(path, encoding="utf-8") as handle:
            documents = list(yaml.safe_load_all(handle))
    except OSError as exc:
        raise bad(exc.strerror or str(exc)) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise bad(f"not valid YAML ({str(exc).splitlines()[0]})") from None
    rules: list[MirrorRule] = []
    for doc in documents:
        objects = doc.get("items") if isinstance(doc, dict) and doc.get("kind") == "List" else [doc]
        for obj in objects if isinstance(objects, list) else []:
            if not isinstance(obj, dict) or obj.get("kind") not in KINDS:
                continue  # CatalogSources, ClusterCatalogs, ... are not mirror sets
            kind = str(obj["kind"])
            name = (obj.get("metadata") or {}).get("name") if isinstance(obj.get("metadata"), dict) else None
            entries = (obj.get("spec") or {}).get(KINDS[kind]) if isinstance(obj.get("spec"), dict) else None
            if not isinstance(entries, list):
                raise bad(f"{kind} {name or '(unnamed)'} has no spec.{KINDS[kind]} list")
            for n, entry in enumerate(entries):
                source = entry.get("source") if isinstance(entry, dict) else None
                mirrors = entry.get("mirrors") if isinstance(entry, dict) else None
                if (
                    not isinstance(source, str)
                    or not source.strip("/")
                    or not isinstance(mirrors, list)
                    or not mirrors
                    or not all(isinstance(m, str) and m.strip("/") for m in mirrors)
                ):
                    raise bad(
                        f"{kind} {name or '(unnamed)'}: spec.{KINDS[kind]}[{n}] needs a 'source' and a non-empty 'mirrors' list"
                    )
                rules.append(
                    MirrorRule(
                        source.strip("/"), tuple(m.strip("/") for m in mirrors), kind, f"{name or '(unnamed)'} ({path.name})"
                    )
                )
    return rules


__all__ = ["MirrorMatch", "MirrorRule", "MirrorSets"]
