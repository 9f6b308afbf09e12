"""Dynamic plugins packaged as OCI artifacts (``oci://REGISTRY/REPO:TAG!PACKAGE``).

RHDH's ``install-dynamic-plugins`` init container pulls such an image, takes its first layer (a tar
whose top-level folders are plugin packages) and extracts the folder the ``!PACKAGE`` selector names.
mirrorkit carries these images like any other additional image (same archives, IDMS/ITMS, verify),
checks before packing that each holds the named package, and pins the mirrored copy by digest in
values.yaml and the dynamic-plugins ConfigMap. See imagesets/README.md, "OCI plugins".
"""

from mirrorkit.plugins.reference import OCI_PREFIX, PluginRef, is_oci_spec, split_specs

__all__ = ["OCI_PREFIX", "PluginRef", "is_oci_spec", "split_specs"]
