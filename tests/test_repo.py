"""Repository invariants: stripped notebooks, their skeleton, the CLI, no import side effects."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stripped(path):
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name} cell {i} has stored outputs"
            assert cell.get("execution_count") is None, f"{path.name} cell {i} has a count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_skeleton(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert len(code) <= 32, f"{path.name} has {len(code)} code cells"
    assert "Contents" in text, f"{path.name} lacks the previous / contents / next links"
    if path.name != "00_setup_check.ipynb":
        for heading in ("You will learn", "Prerequisites", "Summary", "Exercises"):
            assert heading in text, f"{path.name} lacks a '{heading}' section"


def test_importing_helpers_has_no_side_effects():
    code = ("import sys, helpers; heavy = [m for m in ('torch', 'transformers', 'requests') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stderr


def test_cli_doctor_runs():
    out = subprocess.run([sys.executable, "-m", "helpers", "doctor"], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "voices_sample" in out.stdout and "Cache folder" in out.stdout


@pytest.mark.needs_sample
def test_cli_prefetch_reports_sizes(tmp_path):
    out = subprocess.run([sys.executable, "-m", "helpers", "prefetch", str(tmp_path / "m")],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "in 8 files" in out.stdout and "(stand-in)" in out.stdout
    assert (tmp_path / "m" / "manifest.json").exists()


def test_cli_reports_offline_cleanly(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "WAV2VEC2_MIRROR": "http://127.0.0.1:9",
           "WAV2VEC2_CACHE": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "helpers", "prefetch", str(tmp_path / "m")],
                         capture_output=True, text=True, cwd=ROOT, timeout=60, env=env)
    assert out.returncode == 1 and "error: cannot reach the mirror" in out.stderr
    assert "Traceback" not in out.stderr
