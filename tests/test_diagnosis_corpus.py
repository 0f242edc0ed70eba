"""The labelled corpus: the first finding names the root cause; healthy runs get no warning or error."""

import pytest

from diagnosis_corpus import HEALTHY, RUNS


def test_the_corpus_is_large_and_varied():
    labels = [run.label for run in RUNS]
    assert len(RUNS) >= 40 and labels.count(HEALTHY) >= 10
    for label in set(labels) - {HEALTHY}:
        runs = [run for run in RUNS if run.label == label]
        assert len(runs) >= 2, label
        assert len({run.data for run in runs}) >= 2, f"{label}: the runs must use different data sets"
    assert {"iris", "wine", "breast_cancer", "digits", "diabetes"} <= {run.data for run in RUNS if run.label == HEALTHY}


def _already(suggestion, run):
    """Settings named in a suggestion that the run already has."""
    import re

    found = []
    for key, value in re.findall(r'(init|hidden|optimizer|loss|output)="([a-z_]+)"', suggestion):
        current = run.get(key)
        if value == current or (isinstance(current, list) and current and set(current) == {value}):
            found.append(f'{key}="{value}"')
    for value in re.findall(r"\blr=([0-9.e+-]+)", suggestion):
        if run.get("lr") is not None and float(value) == float(run["lr"]):
            found.append(f"lr={value}")
    return found


@pytest.mark.parametrize("run", RUNS, ids=[run.name for run in RUNS])
def test_root_cause_first(run):
    diagnosis = run.execute().diagnosis
    if run.label == HEALTHY:
        assert diagnosis.healthy, str(diagnosis)
    else:
        assert diagnosis.findings and diagnosis.findings[0].code == run.label, str(diagnosis)
        assert diagnosis.findings[0].severity in ("warning", "error")
        assert diagnosis.findings[0].because_of is None
        assert diagnosis.headline.startswith("Most likely root cause: ") and run.label in diagnosis.headline
    settings = diagnosis.context.get("run", {})
    for finding in diagnosis.findings:  # remedies never recommend what the run already does
        assert not _already(finding.suggestion, settings), (finding.code, finding.suggestion, settings)
