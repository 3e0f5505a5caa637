"""The import contracts (pyproject.toml, `[tool.importlinter]`) cover every package, and each one bites.

`make lint` runs `lint-imports`; these tests keep the contracts honest: a new top-level package
must be given its place in them, and every contract is shown to fail on the import it forbids
(on a copy of the code in a temporary folder, never on the tree itself).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
# Top-level packages that are not the product: the tests, and the sandbox that plays the outside world.
NOT_PRODUCT = frozenset({"tests", "bench", "scripts", "fhir_sandbox", "payment_sandbox", "docs", "node_modules"})
FEATURE_APPS = frozenset({"records", "messaging", "scheduling", "billing"})
# The layers around the feature apps (DESIGN.md, "Layers").
NOT_FEATURES = frozenset({"portal", "proxy", "accounts"})


def _config() -> dict[str, Any]:
    with (REPO / "pyproject.toml").open("rb") as file:
        config: dict[str, Any] = tomllib.load(file)["tool"]["importlinter"]
    return config


def _contract(contract_id: str) -> dict[str, Any]:
    (contract,) = [c for c in _config()["contracts"] if c.get("id") == contract_id]
    return contract


def _modules_in(layers: list[str]) -> set[str]:
    """The module names of a layers contract: `a | (b)` and `a : (b)` list siblings, `(b)` may be absent."""
    return {name.strip().strip("()") for layer in layers for name in re.split(r"[|:]", layer)}


def _product_packages() -> set[str]:
    return {
        path.parent.name
        for path in REPO.glob("*/__init__.py")
        if not path.parent.name.startswith(".") and path.parent.name not in NOT_PRODUCT
    }


def _lint_imports(cwd: Path, config: Path) -> tuple[int, dict[str, str]]:
    """Run lint-imports there; return its exit code and each contract's name with KEPT or BROKEN."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["COLUMNS"] = "1000"  # one line per contract, whatever the name's length
    result = subprocess.run(  # noqa: S603 (the venv's own executable, fixed arguments)
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache", "--no-logo"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    verdicts = dict(
        re.findall(r"^(.+?) (KEPT|BROKEN)(?: \(\d+ ignored imports?\))?$", result.stdout, flags=re.MULTILINE)
    )
    assert verdicts, result.stdout + result.stderr
    return result.returncode, verdicts


def test_every_product_package_has_its_place_in_the_contracts() -> None:
    packages = _product_packages()
    assert {"portal", "records", "proxy", "accounts"} <= packages
    config = _config()
    # A package missing from root_packages is invisible to every contract, optional layers included.
    assert packages | {"fhir_sandbox"} <= set(config["root_packages"])
    assert packages <= _modules_in(_contract("layers")["layers"])
    assert packages <= set(_contract("no-sandbox")["source_modules"])
    assert packages <= set(_contract("sandbox-alone")["forbidden_modules"])
    assert _contract("no-sandbox")["forbidden_modules"] == ["fhir_sandbox"]
    assert _contract("sandbox-alone")["source_modules"] == ["fhir_sandbox"]


def test_every_feature_app_is_in_the_independence_contract() -> None:
    features = _contract("features")
    assert len(features["layers"]) == 1
    assert "|" in features["layers"][0], "the feature apps must be independent siblings"
    assert _modules_in(features["layers"]) == FEATURE_APPS
    # Whatever else appears at the top is a feature app too, and needs its place among them.
    assert _product_packages() - NOT_FEATURES <= FEATURE_APPS
    # Only the exceptions DESIGN.md lists: messaging and billing may read records.
    allowed = {tuple(part.strip().split(".")[0] for part in rule.split("->")) for rule in features["ignore_imports"]}
    assert allowed == {("messaging", "records"), ("billing", "records")}


def test_the_tree_keeps_every_contract() -> None:
    code, verdicts = _lint_imports(REPO, REPO / "pyproject.toml")
    assert code == 0, verdicts
    assert set(verdicts.values()) == {"KEPT"}
    assert len(verdicts) == len(_config()["contracts"])


def _copy_of_the_code(tmp_path: Path, new_apps: tuple[str, ...]) -> Path:
    """The Python files of every root package, and pyproject.toml with the new apps as root packages."""

    def not_python(folder: str, names: list[str]) -> list[str]:
        return [n for n in names if n == "__pycache__" or not (n.endswith(".py") or Path(folder, n).is_dir())]

    for package in _config()["root_packages"]:
        shutil.copytree(REPO / package, tmp_path / package, ignore=not_python)
    new_apps = tuple(app for app in new_apps if app not in _config()["root_packages"])  # some exist by now
    for app in new_apps:
        (tmp_path / app).mkdir()
        (tmp_path / app / "__init__.py").write_text("")
    text = (REPO / "pyproject.toml").read_text()
    roots = "root_packages = ["
    assert text.count(roots) == 1
    config = tmp_path / "pyproject.toml"
    config.write_text(text.replace(roots, roots + "".join(f'"{app}", ' for app in new_apps)))
    return config


# (what it shows, apps that do not exist yet made for the case, lines added to files, the contract that breaks)
CASES = [
    ("product imports the sandbox", (), {"records/__init__.py": "import fhir_sandbox"}, "no-sandbox"),
    ("sandbox imports the product", (), {"fhir_sandbox/__init__.py": "from accounts import models"}, "sandbox-alone"),
    ("core imports access", (), {"accounts/__init__.py": "import proxy"}, "layers"),
    ("new app imports the shell", ("scheduling",), {"scheduling/__init__.py": "import portal"}, "layers"),
    ("messaging imports the shell", (), {"messaging/__init__.py": "import portal"}, "layers"),
    ("records imports a new app", ("billing",), {"records/__init__.py": "import billing"}, "features"),
    ("scheduling reads records", ("scheduling",), {"scheduling/__init__.py": "from records import models"}, "features"),
    (
        "messaging imports scheduling",
        ("messaging", "scheduling"),
        {"messaging/views.py": "from scheduling import models"},
        "features",
    ),
    (
        "messaging and billing may read records",
        ("messaging", "billing"),
        {
            "messaging/__init__.py": "import records",
            "messaging/refills.py": "from records.selectors import visible_to",
            "billing/insurance/__init__.py": "from records import models",
            "billing/insurance/view.py": "import records.models",
        },
        None,
    ),
]


@pytest.mark.parametrize(("new_apps", "lines", "broken"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_contract_fails_on_the_import_it_forbids(
    tmp_path: Path, new_apps: tuple[str, ...], lines: dict[str, str], broken: str | None
) -> None:
    config = _copy_of_the_code(tmp_path, new_apps)
    for relative, line in lines.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        for folder in path.relative_to(tmp_path).parents[:-1]:
            (tmp_path / folder / "__init__.py").touch()
        with path.open("a") as file:
            file.write(f"\n{line}\n")

    code, verdicts = _lint_imports(tmp_path, config)

    expected = {c["name"]: "BROKEN" if c["id"] == broken else "KEPT" for c in _config()["contracts"]}
    assert verdicts == expected
    assert (code != 0) == (broken is not None)
