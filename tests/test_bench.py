import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from backproplab.cli import main  # noqa: E402
from bench import WORKLOADS, markdown, select  # noqa: E402  (benchmarks/bench.py, outside the package)


def test_quick_benchmark_harness_runs_and_writes_results(tmp_path, capsys):
    """A smoke test of the harness only; timing claims live in `make bench`, never in tests."""
    code = main(["bench", "--quick", "--json", "--out", str(tmp_path)])
    assert code == 0
    results = json.loads(capsys.readouterr().out)
    assert len(results["workloads"]) == 6
    one = results["workloads"]["1 blog network: us per step"]
    assert one["us_per_step"]["backproplab (mse)"] > 0
    # the monitor's overhead comes from its own pairs of fits, with and without it
    pairs = one["monitor_pairs_us"]
    assert set(pairs) == {"plain", "monitored"} and len(pairs["plain"]) == len(pairs["monitored"]) == 1
    assert one["monitor_overhead"] == pairs["monitored"][0] / pairs["plain"][0] - 1
    assert (tmp_path / "results.json").exists()
    table = (tmp_path / "results.md").read_text()
    assert table.count("\n| ") >= 6 and "make bench" in table
    assert markdown(json.loads((tmp_path / "results.json").read_text())) == table
    four = results["workloads"]["4 784-512-256-10 float32"]
    fractions = four["per_repeat"]["fraction_of_matmul_rate"]
    assert len(fractions) == four["repeats"] == len(four["per_repeat"]["bare_matmul_gflops"])
    assert sorted(fractions)[0] <= four["fraction_of_matmul_rate"] <= sorted(fractions)[-1]
    assert f"repeats {min(fractions):.2f}-{max(fractions):.2f})" in table
    # threadpoolctl is a test extra: the table says so only when it is missing
    assert results["machine"]["threadpoolctl"] and results["machine"]["numba"] and "Not installed" not in table
    results["machine"]["numba"] = None
    assert "Not installed: numba; so optimizer updates ran unfused" in markdown(results)
    results["machine"]["threadpoolctl"] = None
    assert "Not installed: threadpoolctl, numba;" in markdown(results)
    assert "pip install 'backproplab[fast]'" in markdown(results)


def test_only_runs_the_named_workloads(capsys):
    code = main(["bench", "--quick", "--only", "memory", "--json"])
    assert code == 0
    results = json.loads(capsys.readouterr().out)
    assert list(results["workloads"]) == ["6 peak memory"]
    assert "peak extra memory" in markdown(results) and "blog" not in markdown(results)
    assert "Reproduce: `make bench ONLY=6`" in markdown(results)


def test_only_takes_numbers_and_short_names_in_run_order():
    assert select(["4", "blog-step", " 4"]) == ["1 blog network: us per step", "4 784-512-256-10 float32"]
    assert select(None) == select([]) == list(WORKLOADS)


def test_unknown_workload_is_a_one_line_error(capsys):
    assert main(["bench", "--only", "1,7"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: unknown workload '7'; expected a number 1-6 or one of: blog-step, blog-task, digits, mnist, scaling, memory"


def test_cpu_model_names_the_widest_vector_extension(tmp_path):
    from bench import cpu_model

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu sse2 avx avx2 fma\n")
    assert cpu_model(str(info)) == "AMD EPYC 7B13, AVX2"
    info.write_text("model name\t: Intel Xeon\nflags\t\t: avx2 avx512f avx512bw\n")
    assert cpu_model(str(info)) == "Intel Xeon, AVX-512"
    info.write_text("model name\t: Old\nflags\t\t: sse2\n")
    assert cpu_model(str(info)) == "Old, no AVX2"
    assert cpu_model(str(tmp_path / "missing")) != ""  # no /proc: the platform's name


def test_bench_outside_a_source_checkout_says_how_to_run_it(tmp_path, monkeypatch, capsys):
    from backproplab import cli

    monkeypatch.setattr(cli, "__file__", str(tmp_path / "site-packages" / "backproplab" / "cli.py"))
    assert main(["bench", "--quick"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "python benchmarks/run.py" in err and err.count("\n") == 1
