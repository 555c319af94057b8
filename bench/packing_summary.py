#!/usr/bin/env python3
"""Medians over seeds of `mpshare-extender simulate --format json` runs.

usage: packing_summary.py RUNS_DIR OUT_DIR PAPER_CSV

RUNS_DIR holds LIST.POLICY.SEED.json (POLICY with "-" for the space of
"equal-slices N"). Writes to OUT_DIR:
  packing-summary.csv     one row per pod list and policy: medians at 100 % arrivals
                          (the paper's comparison point) and at the end (130 %)
  packing-allocation.dat  default list: median allocated % per arrived % and policy
  packing-gpushare.dat    unallocated % at 100 % arrivals per sharing proportion
                          (default and gpushareNN lists)
  packing-lists.dat       unallocated % at 100 % arrivals per pod list: the paper's
                          FGD and Best-fit, mpshare's fgd, fgd-plus and fgd-plus-batch
and prints the Markdown tables of docs/packing.md.
"""
import csv
import json
import math
import statistics
import sys
from collections import defaultdict
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "alibaba-gpu-v2023"
POLICY_ORDER = ["fgd", "fgd-plus", "fgd-plus-batch", "binpack", "spread", "equal-slices 2", "equal-slices 4", "equal-slices 8"]


def sharing_percent(pod_list):
    """Share of the list's GPU requests made by pods that share a GPU, in %."""
    total = sharing = 0.0
    with open(DATA / f"openb_pod_list_{pod_list}.csv", newline="") as f:
        for row in csv.DictReader(f):
            milli = int(row.get("gpu_milli") or 1000)  # the multigpuNN lists have no column
            ask = int(row["num_gpu"]) * milli / 1000.0
            total += ask
            if int(row["num_gpu"]) == 1 and milli < 1000:
                sharing += ask
    return 100.0 * sharing / total


def load_runs(runs_dir):
    runs = defaultdict(list)  # (list, policy) -> [result]
    for path in sorted(Path(runs_dir).glob("*.json")):
        pod_list, policy, _seed, _ = path.name.split(".")
        if policy.startswith("equal-slices-"):
            policy = "equal-slices " + policy.split("-")[-1]
        with open(path) as f:
            runs[(pod_list, policy)].append(json.load(f))
    return runs


def load_paper(path):
    paper = {}  # (list, policy) -> (alloc %, seeds)
    with open(path, newline="") as f:
        for row in csv.DictReader(row for row in f if not row.startswith("#")):
            paper[(row["list"], row["policy"])] = (float(row["alloc_pct_100"]), row["seeds"])
    return paper


def list_order(pod_list):
    """default first, then the paper's families in its order, each by its number."""
    family = pod_list.rstrip("0123456789")
    number = pod_list[len(family):]
    families = ["default", "gpushare", "gpuspec", "multigpu", "cpu"]
    rank = families.index(family) if family in families else len(families)
    return (rank, family, int(number) if number else 0)


def median(values):
    return statistics.median(values)


def main():
    runs_dir, out_dir, paper_csv = sys.argv[1:4]
    out = Path(out_dir)
    runs = load_runs(runs_dir)
    paper = load_paper(paper_csv)
    lists = sorted({k[0] for k in runs}, key=list_order)
    policies = [p for p in POLICY_ORDER if any(k[1] == p for k in runs)]
    sharing = {l: sharing_percent(l) for l in lists}

    rows = []
    for pod_list in lists:
        for policy in policies:
            results = runs.get((pod_list, policy), [])
            if not results:
                continue
            cap = [r["at_capacity"] for r in results]
            end = [r["final"] for r in results]
            rows.append({
                "list": pod_list,
                "sharing_pct": round(sharing[pod_list], 1),
                "policy": policy,
                "seeds": len(results),
                "gpus": results[0]["gpus"],
                "alloc_pct_100": round(100 * median([p["allocated_share"] for p in cap]), 2),
                "unallocated_gpus_100": round(median([p["unallocated_gpus"] for p in cap]), 1),
                "failed_pods_100": median([p["failed_pods"] for p in cap]),
                "frag_gpus_100": round(median([p["fragmented_gpus"] for p in cap]), 1),
                "alloc_pct_end": round(100 * median([p["allocated_share"] for p in end]), 2),
                "unallocated_gpus_end": round(median([p["unallocated_gpus"] for p in end]), 1),
                "failed_pods_end": median([p["failed_pods"] for p in end]),
                "seconds_median": round(median([r["seconds"] for r in results]), 2),
            })
    with open(out / "packing-summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        writer.writeheader()
        writer.writerows(rows)

    # Allocation as arrivals grow, default list: median over seeds per arrived %.
    series = {}
    for policy in policies:
        by_x = defaultdict(list)
        for r in runs.get(("default", policy), []):
            for p in r["series"]:
                by_x[round(100 * p["arrived_share"])].append(100 * p["allocated_share"])
        series[policy] = {x: median(v) for x, v in by_x.items()}
    xs = sorted(set().union(*[s.keys() for s in series.values()]))
    with open(out / "packing-allocation.dat", "w") as f:
        f.write("arrived_pct\t" + "\t".join(f'"{p}"' for p in policies) + "\n")
        for x in xs:
            cells = [f"{series[p][x]:.3f}" if x in series[p] else "NaN" for p in policies]
            f.write(f"{x}\t" + "\t".join(cells) + "\n")
        f.write("\n\n")  # second data block: the paper's FGD and Best-fit at 100 %
        f.write('arrived_pct\t"paper FGD"\t"paper Best-fit"\n')
        fgd = paper.get(("default", "FGD"), (math.nan, ""))[0]
        best = paper.get(("default", "BestFit"), (math.nan, ""))[0]
        f.write(f"100\t{fgd}\t{best}\n")

    # Unallocated GPUs at 100 % arrivals against the share of sharing pods.
    with open(out / "packing-gpushare.dat", "w") as f:
        f.write("sharing_pct\t" + "\t".join(f'"{p}"' for p in policies) +
                '\t"paper FGD"\t"paper Best-fit"\n')
        for pod_list in sorted(lists, key=lambda l: sharing[l]):
            if pod_list != "default" and not pod_list.startswith("gpushare"):
                continue
            cells = []
            for p in policies:
                row = next((r for r in rows if r["list"] == pod_list and r["policy"] == p), None)
                cells.append(f"{100 - row['alloc_pct_100']:.2f}" if row else "NaN")
            for p in ("FGD", "BestFit"):
                got = paper.get((pod_list, p))
                cells.append(f"{100 - got[0]:.2f}" if got else "NaN")
            f.write(f"{sharing[pod_list]:.1f}\t" + "\t".join(cells) + "\n")

    def alloc(pod_list, policy):
        row = next((r for r in rows if r["list"] == pod_list and r["policy"] == policy), None)
        return row["alloc_pct_100"] if row else None

    # Unallocated % per pod list: the paper's FGD and Best-fit against the fgd family.
    paper_lists = sorted({k[0] for k in paper}, key=list_order)
    with open(out / "packing-lists.dat", "w") as f:
        f.write('list\t"paper Best-fit"\t"paper FGD"\t"fgd"\t"fgd-plus"\t"fgd-plus-batch"\n')
        for pod_list in paper_lists:
            cells = []
            for got in (paper.get((pod_list, "BestFit")), paper.get((pod_list, "FGD"))):
                cells.append(f"{100 - got[0]:.2f}" if got else "NaN")
            for p in ("fgd", "fgd-plus", "fgd-plus-batch"):
                a = alloc(pod_list, p)
                cells.append(f"{100 - a:.2f}" if a is not None else "NaN")
            f.write(f"{pod_list}\t" + "\t".join(cells) + "\n")

    # Every list the paper ran against mpshare's policies, allocated % at 100 %.
    gpus = rows[0]["gpus"]
    print("\n#### Every list the paper ran, allocated at 100 % arrivals\n")
    print("| list | paper FGD | paper Best-fit | " + " | ".join(policies) +
          " | fgd-plus-batch vs paper FGD |")
    print("|---|" + "---:|" * (len(policies) + 3))
    for pod_list in paper_lists:
        fgd = paper.get((pod_list, "FGD"))
        best = paper.get((pod_list, "BestFit"))
        cells = [f"{fgd[0]:.2f} %" if fgd else "", f"{best[0]:.2f} %" if best else ""]
        measured = any(r["list"] == pod_list for r in rows)
        for p in policies:
            a = alloc(pod_list, p)
            cells.append(f"{a:.2f} %" if a is not None else "" if measured else "not in the trace copy")
        plus = alloc(pod_list, "fgd-plus-batch")
        if plus is not None and fgd:
            diff = plus - fgd[0]
            cells.append(f"{diff:+.2f} pt ({gpus * diff / 100:+.0f} GPUs)")
        else:
            cells.append("")
        print(f"| `{pod_list}` | " + " | ".join(cells) + " |")

    # Markdown tables for docs/packing.md.
    for pod_list in lists:
        print(f"\n#### `{pod_list}` ({sharing[pod_list]:.1f} % of GPU requests from sharing pods)\n")
        print("| policy | allocated at 100 % arrivals | unallocated GPUs | pods failed "
              "| fragmentation (GPUs) | allocated at 130 % | unallocated GPUs | pods failed |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            if r["list"] != pod_list:
                continue
            print(f"| {r['policy']} | {r['alloc_pct_100']:.2f} % | {r['unallocated_gpus_100']:.0f} "
                  f"| {r['failed_pods_100']:.0f} | {r['frag_gpus_100']:.0f} "
                  f"| {r['alloc_pct_end']:.2f} % | {r['unallocated_gpus_end']:.0f} "
                  f"| {r['failed_pods_end']:.0f} |")
        for p, label in (("FGD", "paper: FGD"), ("BestFit", "paper: Best-fit")):
            got = paper.get((pod_list, p))
            if got:
                gpus = rows[0]["gpus"]
                print(f"| *{label}* (mean, seeds {got[1]}) | {got[0]:.2f} % "
                      f"| {gpus * (100 - got[0]) / 100:.0f} | | | | | |")


if __name__ == "__main__":
    main()
