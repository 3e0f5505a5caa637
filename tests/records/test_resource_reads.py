"""Health records are read through one selector: records.selectors.visible_to (and its companion for families)."""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from pathlib import Path

import pytest

from accounts.actors import Actor, Scope, actor_for
from accounts.models.audit import Basis
from proxy.access import resolve_actor, subjects_for
from records.models import FhirResource, RecordSource, Sensitivity, SourceKind
from records.selectors import visible_for_subjects, visible_to
from tests.conftest import World

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_APPS = ("accounts", "proxy", "records", "portal")
SKIPPED_FOLDERS = {"migrations", "tests", "__pycache__"}
# The store itself (the model, the ingest that writes it, its reprojection) and the one selector that reads it.
ALLOWED = {"records/models.py", "records/ingest.py", "records/selectors.py", "records/reproject.py"}
MODEL = "FhirResource"
REVERSE_RELATIONS = {"resources", "fhir_resources"}  # RecordSource.resources, Patient.fhir_resources
LOOKUP = re.compile(r"^[A-Za-z_]\w*(__\w+)*$")


def product_modules() -> list[Path]:
    return sorted(
        path
        for app in PRODUCT_APPS
        for path in (ROOT / app).rglob("*.py")
        if not SKIPPED_FOLDERS & set(path.relative_to(ROOT).parts)
    )


def names_resources(text: str) -> bool:
    """A string naming the model ("records.FhirResource") or a lookup through a reverse relation."""
    return MODEL in text or bool(LOOKUP.match(text) and REVERSE_RELATIONS & set(text.split("__")))


def _typing_only(tree: ast.AST) -> set[int]:
    """Nodes that only name types: annotations, and imports under `if TYPE_CHECKING:` (they query nothing)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        annotations: list[ast.AST | None] = []
        if isinstance(node, ast.arg | ast.AnnAssign):
            annotations.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            annotations.append(node.returns)
        elif isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            annotations.extend(node.body)
        for annotation in annotations:
            if annotation is not None:
                skipped.update(id(inner) for inner in ast.walk(annotation))
    return skipped


def references_to_resources(tree: ast.AST) -> list[tuple[int, str]]:
    """Where a module names the model or walks to it through a reverse relation (or a lookup through one).

    Naming it as a type (an annotation, an import under TYPE_CHECKING) is allowed: that reads no row.
    """
    found: list[tuple[int, str]] = []
    typing_only = _typing_only(tree)
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Name) and node.id == MODEL:
            found.append((line, node.id))
        elif isinstance(node, ast.Attribute) and (node.attr == MODEL or node.attr in REVERSE_RELATIONS):
            found.append((line, f".{node.attr}"))
        elif isinstance(node, ast.alias) and MODEL in (node.name.rsplit(".", 1)[-1], node.asname):
            found.append((line, f"import {node.name}"))
        elif isinstance(node, ast.keyword) and node.arg and REVERSE_RELATIONS & set(node.arg.split("__")):
            found.append((line, f"{node.arg}="))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and names_resources(node.value):
            found.append((line, repr(node.value)))
    return found


def test_the_scan_sees_every_way_of_reaching_the_rows() -> None:
    source = """
from records.models import FhirResource as Rows
from records import models
models.FhirResource.objects.all()
patient.fhir_resources.count()
source.resources.all()
Patient.objects.filter(fhir_resources__kind="lab")
Patient.objects.annotate(n=Count("fhir_resources"))
apps.get_model("records", "FhirResource")
if TYPE_CHECKING:
    from records.models import FhirResource
def shown(row: FhirResource) -> list[FhirResource]:
    rows: list[FhirResource] = FhirResource.objects.all()
"""
    assert sorted(line for line, _what in references_to_resources(ast.parse(source))) == [2, 4, 5, 6, 7, 8, 9, 13]


def test_only_the_store_and_its_selector_touch_fhir_resources() -> None:
    modules = product_modules()
    assert len(modules) > 50  # the scan found the apps
    offenders = []
    for path in modules:
        relative = path.relative_to(ROOT).as_posix()
        if relative in ALLOWED:
            continue
        for line, what in references_to_resources(ast.parse(path.read_text(), filename=relative)):
            offenders.append(f"{relative}:{line}: {what}")
    assert not offenders, "Read health records through records.selectors.visible_to:\n" + "\n".join(offenders)


# visible_to, person by person ----------------------------------------------------------------------------


def add(source: RecordSource, rid: str, sensitivity: str = Sensitivity.NORMAL) -> FhirResource:
    return FhirResource.objects.create(
        source=source,
        patient=source.patient,
        resource_type="Observation",
        resource_id=rid,
        content_hash=rid,
        raw={"resourceType": "Observation", "id": rid},
        kind="lab",
        sensitivity=sensitivity,
    )


@pytest.fixture
def records(world: World) -> dict[str, set[str]]:
    """Rosa and Alex each have a normal, a sensitive and a confidential item; Theo has two."""
    made: dict[str, set[str]] = {}
    for person, patient in (
        ("rosa", world.people["rosa"]),
        ("alex", world.patient_record),
        ("theo", world.people["teen"]),
    ):
        source = RecordSource.objects.create(patient=patient, kind=SourceKind.UPLOAD, label="Files")
        kinds = (Sensitivity.NORMAL, Sensitivity.SENSITIVE) if person == "theo" else tuple(Sensitivity)
        made[person] = {add(source, f"{person}-{kind}", kind).resource_id for kind in kinds}
    return made


def ids(actor: Actor) -> set[str]:
    return set(visible_to(actor).values_list("resource_id", flat=True))


def proxy_actor(world: World, persona: str) -> Actor:
    return resolve_actor(world.user(persona), subject_id=world.grants[persona].patient_id)


def test_a_patient_sees_all_of_their_own_and_nothing_else(world: World, records: dict[str, set[str]]) -> None:
    assert ids(actor_for(world.user("patient"))) == records["alex"]


def test_a_caregiver_with_the_records_scope_sees_the_persons_records(
    world: World, records: dict[str, set[str]]
) -> None:
    caregiver = proxy_actor(world, "caregiver_records")
    assert ids(replace(caregiver, hide_sensitive=False)) == records["rosa"]
    assert ids(replace(caregiver, hide_sensitive=True)) == {"rosa-normal"}  # sensitive and confidential stay hidden


def test_a_parent_of_a_teen_sees_only_normal_items(world: World, records: dict[str, set[str]]) -> None:
    parent = proxy_actor(world, "parent_of_teen")
    assert parent.hide_sensitive
    assert ids(parent) == {"theo-normal"}


def test_a_caregiver_without_the_records_scope_sees_nothing(world: World, records: dict[str, set[str]]) -> None:
    grant = world.grants["caregiver_full"]
    grant.scopes = [Scope.MESSAGING, Scope.SCHEDULING]
    grant.save()
    caregiver = proxy_actor(world, "caregiver_full")
    assert caregiver.subject == world.people["rosa"]
    assert ids(caregiver) == set()
    assert ids(replace(caregiver, hide_sensitive=False)) == set()


def test_a_stranger_sees_nothing(world: World, records: dict[str, set[str]]) -> None:
    assert ids(actor_for(world.user("stranger"))) == set()
    assert ids(Actor(user=None)) == set()


def test_another_patients_rows_never_appear(world: World, records: dict[str, set[str]]) -> None:
    everyone_else = records["rosa"] | records["theo"]
    for actor in (actor_for(world.user("patient")), actor_for(world.user("caregiver"))):
        assert not ids(actor) & everyone_else


def test_the_family_companion_applies_the_same_rule_to_each_person(world: World, records: dict[str, set[str]]) -> None:
    from proxy.models import GrantStatus, ProxyGrant

    caregiver = world.user("caregiver")  # Maria: her own record, and grants for Rosa and Theo
    for person, basis in (("rosa", Basis.POWER_OF_ATTORNEY), ("teen", Basis.PARENT_OF_MINOR)):
        ProxyGrant.objects.create(
            grantee=caregiver,
            patient=world.people[person],
            legal_basis=basis,
            scopes=[Scope.RECORDS],
            status=GrantStatus.ACTIVE,
        )
    actor = actor_for(caregiver)
    subjects = subjects_for(actor)
    seen = set(visible_for_subjects(actor, subjects).values_list("resource_id", flat=True))
    by_person = set()
    for subject in subjects:
        acting = replace(actor, subject=subject.patient, scopes=subject.scopes, hide_sensitive=subject.hide_sensitive)
        by_person |= ids(acting)
    assert seen == by_person
    assert "theo-sensitive" not in seen  # the adolescent's sensitive item stays hidden from the parent
    assert not seen & records["alex"]
    # Subjects that are not the actor's own are ignored, whatever the list says.
    stranger = actor_for(world.user("stranger"))
    assert not visible_for_subjects(stranger, subjects).exists()
