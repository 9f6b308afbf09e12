"""Images a selected bundle's operator pulls that oc-mirror will not mirror (not in relatedImages).

oc-mirror mirrors each selected bundle's FBC `relatedImages` and nothing else; an operator that names
images in a ConfigMap (the Serverless Logic operator's `controllers_cfg.yaml`), a CSV env var or an
annotation leaves them behind. Each selected bundle image is read over the distribution API
(:func:`mirrorkit.catalog.bundle_image.inspect_bundle`: manifests and metadata layers only, never image
content) and every reference not already among that bundle's relatedImages is kept, with where it
was found, so it can be added to `additionalImages`.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from mirrorkit.catalog.bundle_image import Source, inspect_bundle
from mirrorkit.catalog.select import SelectedBundle
from mirrorkit.oci.platform import Platform
from mirrorkit.oci.reference import ImageReference


@dataclass(frozen=True)
class Discovered:
    """One image a bundle names outside its relatedImages, with every file/key path naming it."""

    ref: str
    bundle: SelectedBundle
    sources: tuple[Source, ...]


def canonical(ref: str) -> str:
    """The fully qualified form used to compare references (`docker://` stripped); *ref* if it does not parse."""
    text = ref.strip()
    text = text[len("docker://") :] if text.startswith("docker://") else text
    try:
        return str(ImageReference.parse(text))
    except Exception:  # an unparseable reference is compared as written
        return text


def discover(
    bundles: Sequence[SelectedBundle],
    client: Any,
    *,
    platform: Platform | str | None = None,
    jobs: int = 4,
    progress: bool = False,
) -> tuple[list[Discovered], list[str]]:
    """(discovered images, warnings) for *bundles*; bundles without an image are skipped with a warning."""
    todo = [b for b in bundles if b.image]
    warnings = [f"bundle {b.name} of package {b.package} has no image; not inspected" for b in bundles if not b.image]

    def one(bundle: SelectedBundle) -> tuple[SelectedBundle, Any]:
        return bundle, inspect_bundle(client, bundle.image, platform=platform)

    found: list[Discovered] = []
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(todo) or 1))) as pool:
        results = pool.map(one, todo)
        if progress:
            from tqdm import tqdm

            results = tqdm(results, total=len(todo), desc="inspecting bundles", unit="bundle", leave=False, disable=None)
        for bundle, inspected in results:
            related = {canonical(r.image) for r in bundle.related_images} | {canonical(bundle.image)}
            warnings.extend(f"bundle {bundle.name}: {w}" for w in inspected.warnings)
            for image in inspected.images:
                if canonical(image.ref) not in related:
                    found.append(Discovered(image.ref, bundle, image.sources))
    return found, warnings
