"""Describe every setting as an environment variable: for `tension config` and the docs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import BaseModel, SecretStr

from tension.settings import Settings


@dataclass(frozen=True)
class SettingRow:
    env: str
    value: str
    description: str


def _shown(value: object) -> str:
    if isinstance(value, SecretStr):
        return "**********" if value.get_secret_value() else ""
    return str(value)  # paths: absolute once settings are read (TENSION_HOME or the working directory)


def documented_defaults() -> Settings:
    """The defaults as written in the code (relative data paths, no environment): for the docs."""
    return Settings.model_construct()


def rows(settings: BaseModel, prefix: str = "TENSION_") -> Iterator[SettingRow]:
    """One row per leaf field, in declaration order; nested groups joined with `__`."""
    for name, field in type(settings).model_fields.items():
        value = getattr(settings, name)
        if isinstance(value, BaseModel):
            yield from rows(value, f"{prefix}{name.upper()}__")
            continue
        alias = field.validation_alias
        env = alias.choices[0] if alias is not None and hasattr(alias, "choices") else f"{prefix}{name.upper()}"
        yield SettingRow(str(env), _shown(value), (field.description or "").replace("|", "/"))


def markdown(settings: Settings) -> str:
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    lines += [f"| `{r.env}` | `{r.value}` | {r.description} |" for r in rows(settings)]
    return "\n".join(lines) + "\n"
