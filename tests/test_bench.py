import json

from backproplab.bench import markdown
from backproplab.cli import main


def test_quick_benchmark_harness_runs_and_writes_results(tmp_path, capsys):
    """A smoke test of the harness only; timing claims live in `make bench`, never in tests."""
    code = main(["bench", "--quick", "--json", "--out", str(tmp_path)])
    assert code == 0
    results = json.loads(capsys.readouterr().out)
    assert len(results["workloads"]) == 6
    assert results["workloads"]["1 blog network: us per step"]["us_per_step"]["backproplab (mse)"] > 0
    assert (tmp_path / "results.json").exists()
    table = (tmp_path / "results.md").read_text()
    assert table.count("\n| ") >= 6 and "make bench" in table
    assert markdown(json.loads((tmp_path / "results.json").read_text())) == table
    # threadpoolctl is a test extra: the table says so only when it is missing
    assert results["machine"]["threadpoolctl"] and "threadpoolctl" not in table
    results["machine"]["threadpoolctl"] = None
    assert "pip install 'backproplab[fast]'" in markdown(results)
