#!/usr/bin/env python3
"""Median table of bench/live_replay.sh's runs (markdown on stdout).

usage: live_replay_summary.py RUNS_DIR
RUNS_DIR holds LIST.POLICY.SEED.{replay,simulate,simulate-gpu-only}.json.
"""
import json
import pathlib
import statistics
import sys
from collections import defaultdict


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    runs = pathlib.Path(sys.argv[1])
    groups = defaultdict(list)  # (list, policy) -> [(seed, replay, sim, sim_gpu_only)]
    for replay_file in sorted(runs.glob("*.replay.json")):
        stem = replay_file.name[: -len(".replay.json")]
        pod_list, policy, seed = stem.split(".")
        load = lambda kind: json.loads((runs / f"{stem}.{kind}.json").read_text())
        groups[(pod_list, policy)].append(
            (int(seed), json.loads(replay_file.read_text()), load("simulate"),
             load("simulate-gpu-only")))
    if not groups:
        print(f"live_replay_summary.py: no *.replay.json in {runs}", file=sys.stderr)
        return 1

    def median(values):
        return statistics.median(values)

    seeds = sorted({s for runs_ in groups.values() for s, *_ in runs_})
    print(f"Medians over seeds {', '.join(map(str, seeds))}; allocated GPU share at 100 % "
          "arrivals. *simulate*: `mpshare-extender simulate --inflate` on the trace's nodes; "
          "*GPU-only*: the same nodes without host CPU and memory, as the live inventory sees "
          "them. Times are the replay's (ms).\n")
    print("| list | policy | replay | simulate | simulate GPU-only | failed pods (replay) "
          "| waiting for batch | plan binds followed | planNow mean / p99 "
          "| filter+prioritize mean / p99 | run (s) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (pod_list, policy), rows in sorted(groups.items()):
        replay = [r for _, r, _, _ in rows]
        followed = [
            r["plan_binds"].get("followed", 0) / max(1, r["bound_pods"]) for r in replay
        ]
        plan = "–"
        if policy == "fgd-plus-batch":
            plan = (f"{median([r['plan_now']['mean_ms'] for r in replay]):.1f} / "
                    f"{median([r['plan_now']['p99_ms'] for r in replay]):.1f}")
        print(f"| {pod_list} | {policy} "
              f"| {100 * median([r['allocated_share'] for r in replay]):.2f} % "
              f"| {100 * median([s['at_capacity']['allocated_share'] for _, _, s, _ in rows]):.2f} % "
              f"| {100 * median([g['at_capacity']['allocated_share'] for _, _, _, g in rows]):.2f} % "
              f"| {median([r['failed_pods'] for r in replay]):g} "
              f"| {median([r['failed_waiting_for_batch'] for r in replay]):g} "
              f"| {'–' if policy == 'fgd-plus' else f'{100 * median(followed):.1f} %'} "
              f"| {plan} "
              f"| {median([r['filter_prioritize']['mean_ms'] for r in replay]):.2f} / "
              f"{median([r['filter_prioritize']['p99_ms'] for r in replay]):.2f} "
              f"| {median([r['seconds'] for r in replay]):.1f} |")
    print("\nPer seed, allocated share (replay / simulate / simulate GPU-only):\n")
    print("| list | policy | seed | replay | simulate | simulate GPU-only |")
    print("|---|---|---:|---:|---:|---:|")
    for (pod_list, policy), rows in sorted(groups.items()):
        for seed, r, s, g in sorted(rows, key=lambda row: row[0]):
            print(f"| {pod_list} | {policy} | {seed} | {100 * r['allocated_share']:.2f} % "
                  f"| {100 * s['at_capacity']['allocated_share']:.2f} % "
                  f"| {100 * g['at_capacity']['allocated_share']:.2f} % |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
