"""Helpers of scripts/bench.py: measured process runs, the five benchmark cases, the report.

measure     run commands through a small launcher that reports wall time and peak RSS
results     Contender / CaseResult values and their medians and ratios
cases_npm   npm pull vs `npm pack`, npm publish vs `npm publish`
cases_bundle  bundle verify vs sha256sum/openssl, bundle inspection vs skopeo + tar + grep
cases_pack  a second `mirrorkit pack` with nothing changed vs the first
report      Markdown table and JSON document
"""
