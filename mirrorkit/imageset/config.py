"""The ImageSetConfiguration document: load (case-insensitive keys), validate, render canonically."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mirrorkit.errors import ConfigError
from mirrorkit.imageset.issues import InvalidConfiguration, Issue, sort_issues
from mirrorkit.imageset.model import API_VERSION, KIND, ImageSetData, Mirror
from mirrorkit.imageset.parse import load_document
from mirrorkit.imageset.render import render_yaml, to_data
from mirrorkit.imageset.validate import validate_config

WHAT = "ImageSetConfiguration"


@dataclass(frozen=True)
class ImageSetConfig(ImageSetData):
    """An ImageSetConfiguration for ``oc-mirror --v2`` (its fields are :class:`ImageSetData`'s).

    :meth:`load` and :meth:`loads` validate and raise :class:`InvalidConfiguration` listing every
    problem; a config built in code is checked with :meth:`validate` (or :meth:`check`).
    """

    @classmethod
    def new(cls, mirror: Mirror, *, archive_size: int | None = None) -> ImageSetConfig:
        return cls(api_version=API_VERSION, kind=KIND, archive_size=archive_size, mirror=mirror)

    @classmethod
    def loads(cls, text: str, *, source: str = "<string>") -> ImageSetConfig:
        """Parse and validate YAML *text*; *source* names the file in every error."""
        return load_document(
            cls, text, source=source, what=WHAT, expected="an ImageSetConfiguration", check=lambda config: config.validate()
        )

    @classmethod
    def load(cls, path: str | Path) -> ImageSetConfig:
        """Read and validate the file at *path* (errors name it as given)."""
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"cannot read {source}", "no such file", "Check the path") from None
        except IsADirectoryError:
            raise ConfigError(f"cannot read {source}", "it is a directory", "Pass an ImageSetConfiguration file") from None
        except UnicodeDecodeError:
            raise ConfigError(f"cannot read {source}", "it is not UTF-8 text", "Pass a YAML file") from None
        except OSError as exc:
            raise ConfigError(f"cannot read {source}", exc.strerror or str(exc), "Check the path and its permissions") from None
        return cls.loads(text, source=source)

    def validate(self) -> list[Issue]:
        """Every problem oc-mirror (or a mirror run) would hit; empty when the config is good."""
        return sort_issues(validate_config(self))

    def check(self, source: str = "<generated>") -> ImageSetConfig:
        """Raise :class:`InvalidConfiguration` when :meth:`validate` finds anything; else return self."""
        issues = self.validate()
        if issues:
            raise InvalidConfiguration(source, issues, what=WHAT)
        return self

    def render(self) -> str:
        """Canonical YAML (camelCase keys, stable order); the same config always gives the same bytes."""
        return render_yaml(to_data(self))
