#!/bin/sh
# bench/live_replay on a slice of the trace (its first 300 pods, 60 nodes) for
# both policies: the JSON report is complete, its counts add up, and every bind
# kept the ledger's budgets; a bad flag is refused, naming it.
#   live_replay_smoke_test.sh LIVE_REPLAY_BINARY SOURCE_DIR
set -eu
replay=$1
data=$2/data/alibaba-gpu-v2023
out=$(mktemp)
trap 'rm -f "$out"' EXIT

for policy in fgd-plus fgd-plus-batch; do
  if ! "$replay" --nodes "$data/openb_node_list_gpu_node.csv" \
      --pods "$data/openb_pod_list_default.csv" --policy "$policy" --seed 42 \
      --max-pods 300 --max-nodes 60 --format json >"$out" 2>&1; then
    echo "FAIL: live_replay --policy $policy failed; its output:" >&2
    cat "$out" >&2
    exit 1
  fi
  python3 - "$out" "$policy" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
policy = sys.argv[2]
problems = []
keys = ["policy", "seed", "nodes", "gpus", "arrived_pods", "arrived_share", "gpu_pods",
        "host_only_pods_skipped", "bound_pods", "failed_pods", "failed_waiting_for_batch",
        "bind_refused", "allocated_gpus", "allocated_share", "reservations",
        "ledger_invariant", "batches", "plan_binds", "seconds", "plan_now", "filter_prioritize"]
problems += [f"missing {k}" for k in keys if k not in report]
if not problems:
    r = report
    checks = {
        "policy echoed": r["policy"] == policy,
        "60 nodes": r["nodes"] == 60,
        "ledger invariant ok": r["ledger_invariant"] == "ok",
        "no bind refused": r["bind_refused"] == 0,
        "arrivals reach the GPUs": r["arrived_share"] >= 1.0,
        "every GPU pod bound or failed": r["bound_pods"] + r["failed_pods"] == r["gpu_pods"],
        "every arrival a GPU pod or skipped":
            r["gpu_pods"] + r["host_only_pods_skipped"] == r["arrived_pods"],
        "one reservation per bound pod": r["reservations"] == r["bound_pods"],
        "allocated share in (0, 1]": 0 < r["allocated_share"] <= 1,
        "allocated share from GPUs": abs(r["allocated_share"] - r["allocated_gpus"] / r["gpus"]) < 1e-9,
        "some pods failed (the cluster is full)": r["failed_pods"] > 0,
        "filter+prioritize timed per GPU pod": r["filter_prioritize"]["count"] == r["gpu_pods"],
    }
    if policy == "fgd-plus-batch":
        checks["batches planned"] = r["batches"] > 0 and r["plan_now"]["count"] == r["batches"]
        checks["every bind met its plan somehow"] = sum(r["plan_binds"].values()) == r["bound_pods"]
        checks["most binds followed their plan"] = r["plan_binds"].get("followed", 0) * 2 > r["bound_pods"]
    else:
        checks["no planner"] = r["batches"] == 0 and r["plan_binds"] == {}
    problems += [name for name, ok in checks.items() if not ok]
if problems:
    print(f"FAIL ({policy}): " + "; ".join(problems), file=sys.stderr)
    print(json.dumps(report, indent=2), file=sys.stderr)
    sys.exit(1)
PY
done

if "$replay" --nodes x --pods y --policy fgd --seed 1 >"$out" 2>&1; then
  echo "FAIL: live_replay accepted --policy fgd" >&2
  exit 1
fi
grep -q -- '--policy: "fgd" is not replayed; allowed: fgd-plus, fgd-plus-batch' "$out" || {
  echo "FAIL: live_replay's refusal of --policy fgd does not name the flag:" >&2
  cat "$out" >&2
  exit 1
}
echo "ok: live_replay reports both policies on a slice, budgets kept"
