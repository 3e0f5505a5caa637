"""Deeply nested JSON is refused before anything parses it, and nothing stored nests deeper than files may."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from records.actions import import_fhir_file, upload_source
from records.ingest import (
    MAX_NESTING,
    FileRejectedError,
    NestedTooDeeplyError,
    content_hash,
    nesting_depth,
    nests_deeper_than,
    read_fhir_file,
    write_page,
)
from records.models import FhirResource, ImportRun
from tests.conftest import World, sign_in
from tests.records.test_pipeline import hba1c


def deep_extension(levels: int) -> bytes:
    """An Observation whose extension nests `levels` arrays deep (the whole file: levels + 1)."""
    return ('{"resourceType":"Observation","id":"x","extension":' + "[" * levels + "]" * levels + "}").encode()


def deep_inside_a_valid_resource(levels: int) -> bytes:
    """A real lab result with one note nested `levels` objects deep."""
    resource = hba1c(7.0)
    text = json.dumps(resource)
    nested = '{"extension":[' * levels + '{"url":"x","valueString":"y"}' + "]}" * levels
    return (text[:-1] + ',"note":[' + nested + "]}").encode()


def nested_value(levels: int) -> Any:
    """A value `levels` deep, built without recursion (json.loads could not build it)."""
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.mark.parametrize(
    "data",
    [deep_extension(100_000), deep_extension(3_000), deep_inside_a_valid_resource(3_000), deep_extension(MAX_NESTING)],
    ids=["100000-levels", "3000-levels", "3000-levels-inside-a-lab-result", "one-level-too-many"],
)
def test_read_fhir_file_refuses_deep_nesting_before_parsing(data: bytes) -> None:
    with pytest.raises(FileRejectedError, match=f"nests more than {MAX_NESTING} levels deep"):
        read_fhir_file(data)


def test_nesting_up_to_the_limit_is_read() -> None:
    resources, problems = read_fhir_file(deep_extension(MAX_NESTING - 1))
    assert len(resources) == 1
    assert not problems


def test_a_bundle_counts_its_own_levels() -> None:
    resource = deep_extension(MAX_NESTING - 3)  # 62 levels: read on its own ...
    assert read_fhir_file(resource)[0]
    bundle = b'{"resourceType":"Bundle","type":"collection","entry":[{"resource":' + resource + b"}]}"
    with pytest.raises(FileRejectedError, match="nests more than"):  # ... but not in a Bundle (three levels more)
        read_fhir_file(bundle)


def test_an_ndjson_line_too_deep_is_named() -> None:
    lines = json.dumps(hba1c(7.0)).encode() + b"\n" + deep_extension(500) + b"\n"
    with pytest.raises(FileRejectedError, match="Line 2 of the file nests more than"):
        read_fhir_file(lines, name="export.ndjson")
    with pytest.raises(FileRejectedError, match="nests more than"):  # the first line decides NDJSON or not
        read_fhir_file(deep_extension(500) + b"\n" + json.dumps(hba1c(7.0)).encode())


def test_brackets_inside_strings_do_not_count() -> None:
    note = '"' + "[{" * 200 + '\\"]]' + "\\\\" + '"'
    text = json.dumps(hba1c(7.0))[:-1] + ',"note":[{"text":' + note + "}]}"
    resources, _problems = read_fhir_file(text.encode())
    assert resources[0]["note"][0]["text"].startswith("[{[{")


def test_nesting_depth_matches_the_parsed_depth() -> None:
    def depth(value: Any) -> int:
        if isinstance(value, dict):
            return 1 + max((depth(v) for v in value.values()), default=0)
        if isinstance(value, list):
            return 1 + max((depth(v) for v in value), default=0)
        return 0

    chooser = random.Random(20261126)

    def document(budget: int) -> Any:
        roll = chooser.random()
        if budget == 0 or roll < 0.3:
            return chooser.choice(['a"[{', "\\]}", 1.5, None, True, "plain"])
        if roll < 0.65:
            return [document(budget - 1) for _ in range(chooser.randint(0, 3))]
        return {f'k{n}"[': document(budget - 1) for n in range(chooser.randint(0, 3))}

    for _ in range(300):
        value = document(12)
        text = json.dumps(value, ensure_ascii=chooser.random() < 0.5).encode()
        assert nesting_depth(text) == depth(value), text
        if isinstance(value, dict | list):
            assert nests_deeper_than(value, depth(value) - 1)
            assert not nests_deeper_than(value, depth(value))


def test_the_upload_page_refuses_deep_nesting_with_a_message(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    key = str(client.get(reverse("records:upload")).context["form"].initial["key"])
    for data in (deep_extension(100_000), deep_inside_a_valid_resource(3_000)):
        upload = SimpleUploadedFile("deep.json", data, content_type="application/json")
        page = client.post(
            reverse("records:upload"), {"file": upload, "key": key, "subject": str(world.patient_record.pk)}
        )
        assert page.status_code == 200
        assert f"The file nests more than {MAX_NESTING} levels deep" in page.content.decode()
    assert not ImportRun.objects.exists()


def test_the_import_command_refuses_deep_nesting(world: World) -> None:
    with pytest.raises(FileRejectedError):
        import_fhir_file(patient=world.patient_record, data=deep_extension(100_000))
    assert not ImportRun.objects.exists()


@pytest.mark.parametrize("levels", [MAX_NESTING + 1, 300, 1_000, 5_000])
def test_a_page_from_a_server_never_stores_a_resource_deeper_than_files_may_be(world: World, levels: int) -> None:
    """A sync page is parsed by orjson (up to 1024 levels); write_page skips what nests deeper than the limit."""
    source = upload_source(patient=world.patient_record)
    deep = {"resourceType": "Observation", "id": "deep", "extension": nested_value(levels - 1)}
    result = write_page(source, [deep, hba1c(7.0)])
    assert (result.counts.new, result.counts.failed) == (1, 1)
    assert result.problems[0].message == f"The resource nests more than {MAX_NESTING} levels deep."
    assert list(FhirResource.objects.values_list("resource_id", flat=True)) == ["a1c-1"]


def test_hashing_a_deep_resource_never_recurses_without_bound() -> None:
    deep = {"resourceType": "Observation", "id": "deep", "extension": nested_value(50_000)}
    with pytest.raises(NestedTooDeeplyError):
        content_hash(deep)
