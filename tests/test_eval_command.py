"""The evaluation command's interface: output shape, and its exit codes on bad input."""

import json
import subprocess
from pathlib import Path

import pytest

from bot.core.paths import PROJECT_ROOT, rasa_python

pytestmark = pytest.mark.model


def run_eval(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [str(rasa_python()), "-m", "bench.nlu_eval", *args],  # the model loads in Rasa's environment
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, **(env or {})},
    )


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_prints_the_report_as_the_last_line(model_path: Path, tmp_path: Path) -> None:
    cases = write(
        tmp_path / "cases.yml",
        "version: 1\ncases:\n"
        "- {lang: fi, label: faq/library, text: 'miten uusin kirjastolainat'}\n"
        "- {lang: sv, label: greet, text: 'hej hej'}\n"
        "- {lang: en, label: faq/parking_fine, text: 'i got a parking ticket, how do i appeal'}\n"
        "- {lang: en, label: faq/library, text: 'how do i pay a parking fine'}\n",
    )
    result = run_eval("--cases", str(cases))
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(report) == {"n", "accuracy", "per_language", "worst_confusions"}
    assert report["n"] == 4
    assert set(report["per_language"]) == {"fi", "sv", "en"}
    assert set(report["per_language"]["en"]) == {"n", "accuracy", "macro_f1"}
    assert report["per_language"]["en"]["n"] == 2
    # The last case is labelled wrongly on purpose: it must show up as a confusion.
    assert ["faq/library", "faq/parking_fine", 1] in report["worst_confusions"]
    assert report["accuracy"] == 0.75


def test_unknown_label_exits_non_zero(tmp_path: Path) -> None:
    cases = write(tmp_path / "bad.yml", "version: 1\ncases:\n- {lang: fi, label: faq/zoo, text: 'x'}\n")
    result = run_eval("--cases", str(cases))
    assert result.returncode == 3
    assert "unknown label 'faq/zoo'" in result.stderr


def test_missing_model_exits_non_zero(tmp_path: Path) -> None:
    cases = write(tmp_path / "ok.yml", "version: 1\ncases:\n- {lang: fi, label: greet, text: 'moi'}\n")
    result = run_eval("--cases", str(cases), "--model", str(tmp_path / "none.tar.gz"))
    assert result.returncode == 2
    assert "does not exist" in result.stderr
    result = run_eval("--cases", str(cases), env={"CITYBOT_MODELS_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert "make train" in result.stderr
