"""Errors of the event contracts: schema lookup, encoding and decoding."""

from __future__ import annotations


class SchemaError(Exception):
    """Base class for contract errors."""


class UnknownSchemaError(SchemaError):
    """A schema name, version, fingerprint or registry id that we do not know."""


class EncodeError(SchemaError):
    """A record does not fit its schema."""


class DecodeError(SchemaError):
    """Bytes that are not a valid Avro record of the expected type."""


class RegistryError(SchemaError):
    """The schema registry could not be reached, or refused or lacks a schema."""
