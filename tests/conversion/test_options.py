"""Options are checked against the converter's schema; query strings are typed by it."""

import pytest

from anclora.conversion.options import from_query, validate
from anclora.errors import BadRequest

SCHEMA = {"type": "object", "additionalProperties": False, "properties": {
    "quality": {"type": "integer", "minimum": 1, "maximum": 100}, "ratio": {"type": "number"},
    "grayscale": {"type": "boolean"}, "pages": {"type": "array", "items": {"type": "integer"}},
    "title": {"type": ["string", "null"]}}}


def test_valid_options_pass_unchanged():
    assert validate(SCHEMA, {"quality": 80, "grayscale": True}) == {"quality": 80, "grayscale": True}
    assert validate(SCHEMA, None) == {}


def test_every_error_is_listed_with_its_path():
    with pytest.raises(BadRequest) as raised:
        validate(SCHEMA, {"quality": 0, "grayscale": "yes", "extra": 1})
    paths = sorted(item["path"] for item in raised.value.details)
    assert paths == ["", "grayscale", "quality"]
    assert raised.value.status == 400


def test_empty_options_are_still_checked_against_what_a_schema_requires():
    assert validate(SCHEMA, {}) == {}
    for schema in ({**SCHEMA, "required": ["quality"]}, {**SCHEMA, "minProperties": 1}, {"type": "array"}):
        with pytest.raises(BadRequest):
            validate(schema, {})


def test_non_object_options_are_refused():
    with pytest.raises(BadRequest):
        validate(SCHEMA, ["quality", 80])


def test_query_values_are_typed_by_the_schema():
    options = from_query(SCHEMA, {"quality": ["80"], "ratio": ["0.5"], "grayscale": ["true"],
                                  "pages": ["1,2", "5"], "title": ["x"]})
    assert options == {"quality": 80, "ratio": 0.5, "grayscale": True, "pages": ["1", "2", "5"], "title": "x"}


def test_badly_typed_query_values_fail_validation_by_name():
    options = from_query(SCHEMA, {"quality": ["high"]})
    with pytest.raises(BadRequest) as raised:
        validate(SCHEMA, options)
    assert raised.value.details[0]["path"] == "quality"
