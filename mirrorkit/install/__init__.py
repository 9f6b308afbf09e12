"""What the bastion hands to the cluster administrator after a push: the files and the runbook.

``mirrorkit push`` loads images and packages into the disconnected registries; what is left is to
point the cluster at them and install RHDH. This package writes, into push's output folder:

* ``values.yaml`` and the dynamic-plugins ConfigMap that point RHDH at the mirrored plugins
  (:mod:`mirrorkit.install.values`);
* ``charts/<name>-<version>.tgz``: the Helm charts oc-mirror pulled (charts are never pushed to a
  registry, so ``helm install`` reads them from disk);
* ``infra-values.yaml``: the Orchestrator infrastructure chart's Subscriptions pointed at the mirrored
  catalog (:mod:`mirrorkit.install.charts`), and for the Operator flow ``operator/``: Knative, the
  app-config, the backend secret and the Backstage CR (:mod:`mirrorkit.install.resources`);
* ``INSTALL.md``: a runbook for *this* bundle and *these* targets, with the exact ``oc apply`` and
  ``helm install`` commands, the install plans to approve and the values to set, for each install flow
  the bundle serves (:mod:`mirrorkit.install.runbook`).

oc-mirror's own cluster resources (IDMS, ITMS, CatalogSource, ClusterCatalog) are copied by push
itself, straight from its disk-to-mirror run.
"""

from mirrorkit.install.handout import hand_out_charts, install_context, write_install_extras, write_runbook
from mirrorkit.install.runbook import InstallContext, OperatorInstall, render_runbook

__all__ = [
    "InstallContext",
    "OperatorInstall",
    "hand_out_charts",
    "install_context",
    "render_runbook",
    "write_install_extras",
    "write_runbook",
]
