"""Everything mirrorkit does with OCI registries: references, credentials, manifests, blobs."""
