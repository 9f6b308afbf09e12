"""`python -m mirrorkit` runs the same CLI as the `mirrorkit` console script."""

from mirrorkit.cli import run

if __name__ == "__main__":
    run()
