"""Each pydantic model in schemas/models.py and its latest .avsc agree field by field.

Compared: field names and order, types (recursively through unions, arrays,
maps and nested records), optionality (nullable union <-> ``X | None``) and
defaults (an Avro default <-> the same model default). A timestamp the writer
stamps itself (``default_factory=utcnow``) is required in Avro: the model
fills it before encoding, so no record ever lacks it.
"""

from __future__ import annotations

import types
import typing
from datetime import datetime
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from schemas import catalog, models
from schemas.models import AvroModel

_PRIMITIVES: dict[Any, set[str]] = {
    str: {"string"}, int: {"int", "long"}, float: {"double", "float"}, bool: {"boolean"}, bytes: {"bytes"},
}
_TIMESTAMP = {"type": "long", "logicalType": "timestamp-millis"}


def _model_classes() -> list[type[AvroModel]]:
    return [c for c in vars(models).values()
            if isinstance(c, type) and issubclass(c, AvroModel) and c is not AvroModel]


def _check_type(py: Any, avro: Any, where: str) -> None:
    origin, args = typing.get_origin(py), typing.get_args(py)
    if origin in (typing.Union, types.UnionType):
        non_null = [a for a in args if a is not type(None)]
        assert isinstance(avro, list) and avro[0] == "null", f"{where}: Optional in model, {avro} in Avro"
        assert len(non_null) == 1 and len(avro) == 2, f"{where}: only ['null', X] unions are used"
        _check_type(non_null[0], avro[1], where)
        return
    assert not isinstance(avro, list), f"{where}: union {avro} in Avro but {py} in model"
    if py is datetime:
        assert avro == _TIMESTAMP, f"{where}: datetime must be timestamp-millis, got {avro}"
    elif py in _PRIMITIVES:
        assert avro in _PRIMITIVES[py], f"{where}: {py.__name__} vs {avro}"
    elif origin is list:
        assert isinstance(avro, dict) and avro["type"] == "array", f"{where}: list vs {avro}"
        _check_type(args[0], avro["items"], f"{where}[]")
    elif origin is dict:
        assert args[0] is str and isinstance(avro, dict) and avro["type"] == "map", f"{where}: dict vs {avro}"
        _check_type(args[1], avro["values"], f"{where}{{}}")
    elif isinstance(py, type) and issubclass(py, BaseModel):
        assert isinstance(avro, dict) and avro["type"] == "record", f"{where}: model vs {avro}"
        _check_record(py, avro, where)
    else:
        raise AssertionError(f"{where}: no Avro mapping for {py}")


def _writer_stamped(info: FieldInfo) -> bool:
    return info.default_factory is models.utcnow


def _check_record(model: type[BaseModel], schema: dict[str, Any], where: str) -> None:
    assert schema["name"] == getattr(model, "avro_name", model.__name__), f"{where}: record name"
    hints = typing.get_type_hints(model)
    avro_fields = schema["fields"]
    assert [f["name"] for f in avro_fields] == list(model.model_fields), f"{where}: field names/order differ"
    for field in avro_fields:
        name, info = field["name"], model.model_fields[field["name"]]
        at = f"{where}.{name}"
        _check_type(hints[name], field["type"], at)
        assert field.get("doc"), f"{at}: every Avro field is documented"
        if "default" in field:
            model_default = info.get_default(call_default_factory=True)
            assert not info.is_required(), f"{at}: Avro default but required in the model"
            assert model_default == field["default"], f"{at}: defaults {model_default!r} vs {field['default']!r}"
        else:
            assert info.is_required() or _writer_stamped(info), f"{at}: model default but none in Avro"


@pytest.mark.parametrize("model", _model_classes(), ids=lambda m: m.__name__)
def test_model_matches_latest_schema(model: type[AvroModel]) -> None:
    schema = catalog.load(model.avro_name)
    _check_record(model, schema, model.avro_name)


def test_every_schema_has_a_model() -> None:
    assert sorted(m.avro_name for m in _model_classes()) == catalog.record_names()
