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


@pytest.mark.parametrize("run", RUNS, ids=[run.name for run in RUNS])
def test_root_cause_first(run):
    diagnosis = run.execute().diagnosis
    if run.label == HEALTHY:
        assert diagnosis.healthy, str(diagnosis)
    else:
        assert diagnosis.findings and diagnosis.findings[0].code == run.label, str(diagnosis)
        assert diagnosis.findings[0].severity in ("warning", "error")
