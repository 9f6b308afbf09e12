"""A tqdm progress bar (on stderr) driven by oc-mirror's own output events."""

from __future__ import annotations

import sys
from types import TracebackType

from tqdm import tqdm

from mirrorkit.ocmirror.parser import Event, ImagesToCopy
from mirrorkit.ocmirror.result import CopiedImage, FailedImage


class ImageProgress:
    """Counts images as oc-mirror reports them; a no-op when *enabled* is false."""

    def __init__(self, description: str, enabled: bool = True) -> None:
        self._bar = tqdm(
            total=None, desc=description, unit="img", file=sys.stderr, disable=not enabled, leave=True, dynamic_ncols=True
        )
        self._failed: set[str] = set()

    def update(self, event: Event) -> None:
        if isinstance(event, ImagesToCopy):
            self._bar.total = max(event.count, self._bar.n)
            self._bar.refresh()
        elif isinstance(event, CopiedImage):
            self._bar.update(1)
        elif isinstance(event, FailedImage) and event.image not in self._failed:
            # oc-mirror may report one failure on several lines; count each image once.
            self._failed.add(event.image)
            self._bar.set_postfix(failed=len(self._failed), refresh=False)
            self._bar.update(1)

    def __enter__(self) -> ImageProgress:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._bar.close()
