"""The lean tar reader moved to :mod:`mirrorkit.oci.tarwalk` (bundle-image layers use it too);
this name stays for the catalog code and tests that import it from here."""

from mirrorkit.oci.tarwalk import BLOCK, TarEntry, TarFormatError, TarWalker

__all__ = ["BLOCK", "TarEntry", "TarFormatError", "TarWalker"]
