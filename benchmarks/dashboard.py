"""What the live dashboard costs a run: time and memory.

Time: a 10,000-step fit of the blog network (3-3-2-1 sigmoid, batch 128 drawn from 200 two-spheres
rows, SGD lr 0.1) without a dashboard, with ``bp.Dashboard`` recording only, and with the dashboard
serving a page that a client (a separate process reading the server-sent events, as a browser
would) is connected to. The three run interleaved, ``--repeats`` times; medians are reported.

Memory: the dashboard's buffers after 1e4, 1e5 and 1e6 steps fed through its ``on_step_end`` hook
(frames taken every 100 steps, so 10,000 frames are offered), measured with tracemalloc and with
the recorder's own estimate. The training loop is not part of this number.

    python benchmarks/dashboard.py [--repeats 7] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc

import backproplab as bp

CLIENT = r"""
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=120) as stream:
    for line in stream:
        pass
"""


def blog_fit(callbacks: list) -> tuple[float, float]:
    """Wall seconds and CPU seconds of this process (all its threads: the server's too)."""
    X, y = bp.datasets.two_spheres(seed=0)
    net = bp.Network.mlp([3, 3, 2, 1], hidden="sigmoid", output="sigmoid", loss="mse", init="normal", seed=0)
    start, cpu = time.perf_counter(), time.process_time()
    net.fit(X, y, optimizer="sgd", lr=0.1, batch_size=128, max_steps=10_000, sampling="random", seed=0,
            callbacks=callbacks, progress=False)
    return time.perf_counter() - start, time.process_time() - cpu


def served_fit() -> tuple[tuple[float, float], int]:
    X, y = bp.datasets.two_spheres(seed=0)
    board = bp.Dashboard(data=(X, y), open_browser=False)
    board.start_server()
    stream = board.url.replace("/?token=", "/api/stream?token=")
    client = subprocess.Popen([sys.executable, "-c", CLIENT, stream])
    time.sleep(1.0)  # the client is connected and receiving before the clock starts
    try:
        seconds = blog_fit([board])
    finally:
        client.terminate()
        client.wait()
        board.close()
    return seconds, len(board.recorder.frames)


def overhead(repeats: int) -> dict:
    """Interleaved: each repeat runs the three variants back to back, in a rotating order, so that
    a drift of the machine's load hits all three alike; the per-repeat ratios are paired."""
    times: dict[str, list[float]] = {"plain": [], "recording": [], "served": []}
    cpu: dict[str, list[float]] = {"plain": [], "recording": [], "served": []}
    frames = []
    X, y = bp.datasets.two_spheres(seed=0)
    blog_fit([])  # warm-up (imports, BLAS, caches)

    def served() -> tuple[float, float]:
        seconds, count = served_fit()
        frames.append(count)
        return seconds

    variants = {"plain": lambda: blog_fit([]),
                "recording": lambda: blog_fit([bp.Dashboard(data=(X, y), serve=False)]),
                "served": served}
    names = list(variants)
    for repeat in range(repeats):
        for name in names[repeat % 3:] + names[: repeat % 3]:
            wall, used = variants[name]()
            times[name].append(wall)
            cpu[name].append(used)
    median = {k: statistics.median(v) for k, v in times.items()}
    paired = {k: statistics.median(t / p for t, p in zip(times[k], times["plain"])) - 1 for k in ("recording", "served")}
    cpu_median = {k: statistics.median(v) for k, v in cpu.items()}
    cpu_paired = {k: statistics.median(t / p for t, p in zip(cpu[k], cpu["plain"])) - 1 for k in ("recording", "served")}
    return {
        "workload": "blog network, 10,000 SGD steps, batch 128 of 200 rows",
        "repeats": repeats,
        "seconds": times,
        "median_seconds": median,
        "overhead_recording": median["recording"] / median["plain"] - 1,
        "overhead_served": median["served"] / median["plain"] - 1,
        "paired_overhead_recording": paired["recording"],
        "paired_overhead_served": paired["served"],
        "cpu_seconds": cpu,
        "median_cpu_seconds": cpu_median,
        "cpu_overhead_recording": cpu_median["recording"] / cpu_median["plain"] - 1,
        "cpu_overhead_served": cpu_median["served"] / cpu_median["plain"] - 1,
        "paired_cpu_overhead_recording": cpu_paired["recording"],
        "paired_cpu_overhead_served": cpu_paired["served"],
        "frames_per_run": frames,
        "load_average": os.getloadavg(),
    }


def components(plain_seconds: float, frames: float) -> dict:
    """The dashboard's own work, timed in isolation (less sensitive to a loaded machine than a
    whole fit): the per-step hook, and one frame of the blog network with its data."""
    X, y = bp.datasets.two_spheres(seed=0)
    net = bp.Network.mlp([3, 3, 2, 1], hidden="sigmoid", output="sigmoid", loss="mse", init="normal", seed=0)
    net.fit(X, y, max_steps=1, seed=0)
    board = bp.Dashboard(data=(X, y), serve=False, every=10**9)  # the hook without frames
    board.attach(net, (X, y))
    board._due = 10**12
    hook = board.on_step_end
    per_call = []
    for _ in range(5):
        board._losses = []
        start = time.perf_counter()
        for step in range(1, 100_001):
            hook(step, 0.1)
        per_call.append((time.perf_counter() - start) / 100_000)
    frame = []
    for k in range(5):
        start = time.perf_counter()
        for j in range(20):
            board._network_frame(k * 20 + j + 1, 0.1)
        frame.append((time.perf_counter() - start) / 20)
    hook_s, frame_s = statistics.median(per_call), statistics.median(frame)
    estimate = (10_000 * hook_s + frames * frame_s) / plain_seconds
    return {"hook_seconds_per_step": hook_s, "frame_seconds": frame_s, "frames": frames,
            "estimated_overhead": estimate}


def memory() -> dict:
    X, y = bp.datasets.two_spheres(seed=0)
    net = bp.Network.mlp([3, 3, 2, 1], hidden="sigmoid", output="sigmoid", loss="mse", init="normal", seed=0)
    net.fit(X, y, max_steps=1, seed=0)  # gradients and deltas exist, as during a run
    board = bp.Dashboard(data=(X, y), serve=False, every=100)
    board.attach(net, (X, y))
    out = {}
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    step = 0
    for target in (10_000, 100_000, 1_000_000):
        while step < target:
            step += 1
            board.on_step_end(step, 0.1 + 1.0 / step)
        current, peak = tracemalloc.get_traced_memory()
        out[str(target)] = {"traced_bytes": current - base, "peak_bytes": peak - base,
                            "recorder_estimate_bytes": board.recorder.nbytes(),
                            "loss_points": len(board.recorder.loss.points), "frames": len(board.recorder.frames)}
    tracemalloc.stop()
    return out


def markdown(result: dict) -> str:
    o, m, c = result["overhead"], result["memory"], result["components"]
    lines = [
        "# Dashboard cost", "",
        f"{o['workload']}; {o['repeats']} interleaved repeats, median seconds:", "",
        "| variant | median s | overhead: of the medians (median of paired ratios) |", "|---|---|---|",
        f"| no dashboard | {o['median_seconds']['plain']:.3f} | - |",
        f"| bp.Dashboard recording (no server) | {o['median_seconds']['recording']:.3f} | {100 * o['overhead_recording']:+.1f}% "
        f"(paired {100 * o['paired_overhead_recording']:+.1f}%) |",
        f"| bp.Dashboard serving, one SSE client connected | {o['median_seconds']['served']:.3f} | {100 * o['overhead_served']:+.1f}% "
        f"(paired {100 * o['paired_overhead_served']:+.1f}%) |",
        "", "CPU seconds of the whole process (its server and SSE threads included):", "",
        "| variant | median CPU s | overhead: of the medians (median of paired ratios) |", "|---|---|---|",
        f"| no dashboard | {o['median_cpu_seconds']['plain']:.3f} | - |",
        f"| recording | {o['median_cpu_seconds']['recording']:.3f} | {100 * o['cpu_overhead_recording']:+.1f}% "
        f"(paired {100 * o['paired_cpu_overhead_recording']:+.1f}%) |",
        f"| serving, one client | {o['median_cpu_seconds']['served']:.3f} | {100 * o['cpu_overhead_served']:+.1f}% "
        f"(paired {100 * o['paired_cpu_overhead_served']:+.1f}%) |",
        "", f"The dashboard's own work timed alone: {1e9 * c['hook_seconds_per_step']:.0f} ns per step in the hook, "
        f"{1e3 * c['frame_seconds']:.2f} ms per frame; x 10,000 steps and {c['frames']:g} frames = "
        f"{100 * c['estimated_overhead']:.1f}% of the plain run.",
        "", f"frames taken per served run: {o['frames_per_run']}; load average during the run: "
        f"{', '.join(f'{v:.1f}' for v in o['load_average'])} (2 cores)", "",
        "Memory of the dashboard's buffers (on_step_end fed directly, a frame offered every 100 steps):", "",
        "| steps | traced MiB | peak MiB | loss points | frames |", "|---|---|---|---|---|",
    ]
    for steps, row in m.items():
        lines.append(f"| {int(steps):,} | {row['traced_bytes'] / 2**20:.2f} | {row['peak_bytes'] / 2**20:.2f} | "
                     f"{row['loss_points']} | {row['frames']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args()
    measured = overhead(args.repeats)
    result = {"overhead": measured, "memory": memory(),
              "components": components(measured["median_seconds"]["plain"], statistics.median(measured["frames_per_run"]))}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "dashboard.json"), "w") as handle:
        json.dump(result, handle, indent=1)
    text = markdown(result)
    with open(os.path.join(args.out, "dashboard.md"), "w") as handle:
        handle.write(text)
    print(text)


if __name__ == "__main__":
    main()
