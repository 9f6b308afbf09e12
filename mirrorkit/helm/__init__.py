"""Helm charts as oc-mirror sees them: pulled, rendered with the real ``helm``, searched for images.

oc-mirror collects a chart's images by rendering it with its default values and reading a few
JSONPaths of every manifest (:mod:`.images`). ``mirrorkit plan`` does the same with the ``helm`` a
user installs (:mod:`.tool`, :mod:`.render`), so that the plan names the chart images before anything
is mirrored and pack can compare them with oc-mirror's own mapping (:mod:`.collect`).
"""

from mirrorkit.helm.collect import ChartImages, ChartSource, collect_chart_images
from mirrorkit.helm.tool import Helm, find_helm

__all__ = ["ChartImages", "ChartSource", "Helm", "collect_chart_images", "find_helm"]
