"""The benchmark package behind scripts/bench.py (its one entry point): measuring, fixtures, cases, report.

measure        run commands through a small launcher that reports wall time and peak RSS
results        Contender / CaseResult values and their medians and ratios
report         Markdown table and JSON document
npm_source     a local Verdaccio holding the benchmark packages; a clean npm client environment
signed_bundle  a signed multi-file bundle on disk for the verify case
images         images with a large random layer, streamed to the local registry from a file
unpack         the reference way into an image: skopeo copy to a directory, tar -xzf every layer
cases_npm      npm pull vs `npm pack`, npm publish vs `npm publish`
cases_bundle   bundle verify vs sha256sum/openssl, bundle inspection vs skopeo + tar + grep
cases_pack     a second `mirrorkit pack` with nothing changed vs the first
cases_catalog  `mirrorkit plan` on a Red Hat-sized catalog vs skopeo + tar + json load
"""
