#!/usr/bin/env python3
"""Checks, on a GPU machine with a running MPS daemon, that the env mpshare's
webhook emits holds, and runs the slicing and mixed-pod experiments.

Run through run_validation.sh, which builds the probe and owns the daemon:
    python3 validate.py --probe BIN --env pod_env.json --out results.json [--reps 5]

Every client gets exactly the MPS env the webhook gave its pod, except
CUDA_MPS_PIPE_DIRECTORY, which points at the private daemon of this run instead
of the in-cluster hostPath. Python standard library only.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

MPS_VARS = ("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT")


def log(msg):
    print(f"[validate {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def expected_sms(percent, full_sms):
    """The SM count MPS gives a client: floor(p * SMs / 100), rounded down to an
    even count, at least 8. Example: expected_sms(30, 132) == 38."""
    sms = int(percent * full_sms // 100)
    sms -= sms % 2
    return max(8, min(sms, full_sms))


def mib_of_limit(value):
    """'0=4096M' -> 4096; the only form the webhook emits."""
    dev, _, amount = value.partition("=")
    if dev != "0" or not amount.endswith("M"):
        raise ValueError(f"unexpected memory limit {value!r}, want 0=<MiB>M")
    return int(amount[:-1])


class Client:
    """One probe process: one MPS client, like one pod's GPU container."""

    def __init__(self, args, name, mps_env, limit_mib=0, units=0, wait_go=True):
        env = {k: v for k, v in os.environ.items() if k not in MPS_VARS}
        env.update(mps_env)
        cmd = [args.probe, "--name", name, "--gemms-per-unit", str(args.gemms_per_unit)]
        if limit_mib:
            cmd += ["--limit-mib", str(limit_mib)]
        if units:
            cmd += ["--units", str(units)]
        if wait_go:
            cmd.append("--wait-go")
        self.name = name
        self.mps_env = dict(mps_env)
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait_ready(self):
        line = self.proc.stdout.readline().strip()
        if line != "READY":
            raise RuntimeError(f"{self.name}: expected READY, got {line!r}")

    def go(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def result(self, timeout=300):
        out, err = self.proc.communicate(timeout=timeout)
        lines = [l for l in out.splitlines() if l.startswith("{")]
        if not lines:
            raise RuntimeError(f"{self.name}: no result (rc {self.proc.returncode}): {err[-500:]}")
        res = json.loads(lines[-1])
        res["rc"] = self.proc.returncode
        if err.strip():
            res["stderr"] = err.strip()[-500:]
        return res


def run_together(clients):
    """Starts the work of every client at one instant; returns results with each
    client's finish time measured from that instant."""
    for c in clients:
        c.wait_ready()
    go_at = time.time()
    for c in clients:
        c.go()
    results = [c.result() for c in clients]
    for r in results:
        if "work" in r:
            r["finish_s"] = r["work"]["end"] - go_at
    return results


def mps_clients_seen():
    """What the control daemon reports while clients are connected: the proof
    that the probes really ran as clients of the private MPS server."""
    def ctl(cmd):
        p = subprocess.run(["nvidia-cuda-mps-control"], input=cmd + "\n", text=True,
                           capture_output=True, timeout=20)
        return p.stdout.strip()
    servers = ctl("get_server_list").split()
    return {s: ctl(f"get_client_list {s}").split() for s in servers}


def check_pods(args, pods, full_sms):
    """All admitted GPU containers at once, each with its webhook env."""
    clients = []
    for name, pod in sorted(pods.items()):
        env = pod["mps_env"]
        limit = mib_of_limit(env[MPS_VARS[1]]) if MPS_VARS[1] in env else 0
        clients.append(Client(args, name, env, limit_mib=limit))
    for c in clients:
        c.wait_ready()
    seen = mps_clients_seen()
    for c in clients:
        c.go()
    checks = []
    for c in clients:
        r = c.result()
        env = c.mps_env
        chk = {"pod": c.name, "env": env, "probe": r, "context_ok": r.get("context_ok", False)}
        if MPS_VARS[0] in env:
            chk["expected_sms"] = expected_sms(int(env[MPS_VARS[0]]), full_sms)
        else:
            chk["expected_sms"] = full_sms
        chk["sms_ok"] = r.get("sms") == chk["expected_sms"]
        if "allocs" in r:
            by = {a["label"]: a["ok"] for a in r["allocs"]}
            chk["inside_ok"] = by.get("inside", False)
            chk["beyond_fails"] = not by.get("at_limit", True) and not by.get("beyond", True)
            chk["context_share_mib"] = r["limit_mib"] - r["free_mib"]
            chk["mem_ok"] = chk["inside_ok"] and chk["beyond_fails"]
        else:
            chk["mem_ok"] = True
        chk["ok"] = chk["context_ok"] and chk["sms_ok"] and chk["mem_ok"]
        log(f"check {c.name}: sms {r.get('sms')} (want {chk['expected_sms']}), "
            f"mem_ok {chk['mem_ok']}, ok {chk['ok']}")
        checks.append(chk)
    client_count = sum(len(v) for v in seen.values())
    return {"clients": checks, "mps_servers": seen, "mps_client_count": client_count,
            "all_ok": all(c["ok"] for c in checks) and client_count >= len(clients)}


def check_malformed(args, cases, full_sms, pod_results):
    """Each malformed value raw, as MPS would get it without the webhook."""
    out = []
    for case in cases:
        limit = case.get("intended_limit_mib", 0)
        r = Client(args, case["case"], case["raw_env"], limit_mib=limit, wait_go=False).result()
        ignored_threads = r.get("context_ok") and r.get("sms") == full_sms \
            and MPS_VARS[0] in case["raw_env"]
        beyond_ok = any(a["label"] == "beyond" and a["ok"] for a in r.get("allocs", []))
        if not r.get("context_ok"):
            mps_effect = f"client fails at start: {r.get('context_error')}"
        elif ignored_threads or (MPS_VARS[1] in case["raw_env"] and beyond_ok):
            mps_effect = "silently ignored: client runs with no limit"
        else:
            mps_effect = f"applied: {r.get('sms')} SMs, {r.get('total_mib')} MiB total"
        entry = {**case, "probe": r, "mps_effect": mps_effect}
        wh = case["webhook"]
        if wh.get("allowed") and wh.get("mps_env"):
            env = wh["mps_env"]
            lim = mib_of_limit(env[MPS_VARS[1]]) if MPS_VARS[1] in env else 0
            entry["webhook_env_probe"] = Client(args, case["case"] + "-webhook", env,
                                                limit_mib=lim, wait_go=False).result()
        log(f"malformed {case['case']}: MPS -> {mps_effect}; webhook allowed={wh.get('allowed')}")
        out.append(entry)
    return out


def trial(args, specs):
    """specs: [(name, mps_env, units)] run concurrently; returns per-client results."""
    clients = [Client(args, n, env, units=u) for n, env, u in specs]
    res = run_together(clients)
    for r in res:
        if not r.get("work", {}).get("ok"):
            raise RuntimeError(f"work failed: {json.dumps(r)[:400]}")
    return {r["name"]: {"finish_s": r["finish_s"], "elapsed_s": r["work"]["elapsed_s"],
                        "sms": r["sms"]} for r in res}


def thread_env(p):
    return {} if p is None else {MPS_VARS[0]: str(p)}


def slicing(args):
    small, large = args.small_units, args.large_units
    configs = {"no_limits": (None, None), "equal_50_50": (50, 50),
               "proportional_30_70": (30, 70)}
    runs = {k: [] for k in configs}
    alone = {"small": [], "large": []}
    for rep in range(args.reps):
        alone["small"].append(trial(args, [("small", {}, small)])["small"]["finish_s"])
        alone["large"].append(trial(args, [("large", {}, large)])["large"]["finish_s"])
        for cfg, (ps, pl) in configs.items():
            t = trial(args, [("small", thread_env(ps), small), ("large", thread_env(pl), large)])
            t["makespan_s"] = max(t["small"]["finish_s"], t["large"]["finish_s"])
            runs[cfg].append(t)
            log(f"slicing rep {rep} {cfg}: small {t['small']['finish_s']:.3f}s "
                f"large {t['large']['finish_s']:.3f}s")
    med = statistics.median
    summary = {cfg: {"small_s": med(r["small"]["finish_s"] for r in rs),
                     "large_s": med(r["large"]["finish_s"] for r in rs),
                     "makespan_s": med(r["makespan_s"] for r in rs),
                     "small_sms": rs[0]["small"]["sms"], "large_sms": rs[0]["large"]["sms"]}
               for cfg, rs in runs.items()}
    summary["alone_full_gpu"] = {"small_s": med(alone["small"]), "large_s": med(alone["large"])}
    return {"units": {"small": small, "large": large}, "reps": args.reps, "runs": runs,
            "alone": alone, "median": summary}


def pack_one_gpu(pods, total_mib):
    """The pods one GPU takes when placed first-fit in ascending thread order
    against the extender's budgets (100 % threads, the GPU's memory, 48 clients)."""
    chosen, threads, mem = [], 0, 0
    for name, pod in sorted(pods.items(), key=lambda kv: (kv[1]["threads"] or 101, kv[0])):
        t, m = pod["threads"], pod["memory_mib"]
        if t is None or m is None:
            continue  # no annotations: a whole GPU, never shared
        if threads + t <= 100 and mem + m <= total_mib and len(chosen) < 48:
            chosen.append(name)
            threads, mem = threads + t, mem + m
    return chosen, threads, mem


def mixed(args, pods, total_mib):
    chosen, threads, mem = pack_one_gpu(pods, total_mib)
    equal_pct = 100 // len(chosen)
    equal_env = {MPS_VARS[0]: str(equal_pct), MPS_VARS[1]: f"0={total_mib // len(chosen)}M"}
    units = {n: max(1, pods[n]["threads"] // args.percent_per_unit) for n in chosen}
    configs = {"mpshare": {n: pods[n]["mps_env"] for n in chosen},
               f"equal_{equal_pct}": {n: equal_env for n in chosen},
               "no_limits": {n: {} for n in chosen}}
    # Two baselines per pod: alone on the whole GPU (the best it could do), and
    # alone inside its own mpshare slice (what isolation promises it keeps).
    alone = {n: [] for n in chosen}
    alone_slice = {n: [] for n in chosen}
    runs = {k: [] for k in configs}
    for rep in range(args.reps):
        for n in chosen:
            alone[n].append(trial(args, [(n, {}, units[n])])[n]["finish_s"])
            alone_slice[n].append(
                trial(args, [(n, pods[n]["mps_env"], units[n])])[n]["finish_s"])
        for cfg, envs in configs.items():
            t = trial(args, [(n, envs[n], units[n]) for n in chosen])
            t_makespan = max(v["finish_s"] for v in t.values())
            runs[cfg].append({"clients": t, "makespan_s": t_makespan})
            log(f"mixed rep {rep} {cfg}: makespan {t_makespan:.3f}s")
    med = statistics.median
    alone_med = {n: med(v) for n, v in alone.items()}
    slice_med = {n: med(v) for n, v in alone_slice.items()}
    total_units = sum(units.values())
    summary = {}
    for cfg, rs in runs.items():
        finish = {n: med(r["clients"][n]["finish_s"] for r in rs) for n in chosen}
        makespan = med(r["makespan_s"] for r in rs)
        slow = {n: finish[n] / alone_med[n] for n in chosen}
        slow_slice = {n: finish[n] / slice_med[n] for n in chosen}
        summary[cfg] = {"finish_s": finish, "makespan_s": makespan,
                        "throughput_units_per_s": total_units / makespan,
                        "slowdown": slow, "max_slowdown": max(slow.values()),
                        "mean_slowdown": statistics.mean(slow.values()),
                        "slowdown_vs_own_slice": slow_slice,
                        "sms": {n: rs[0]["clients"][n]["sms"] for n in chosen}}
    return {"pods": chosen, "threads_total": threads, "memory_total_mib": mem,
            "units": units, "reps": args.reps, "alone_full_gpu_s": alone_med,
            "alone_own_slice_s": slice_med, "alone_runs": alone,
            "alone_slice_runs": alone_slice, "runs": runs, "median": summary}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--probe", required=True)
    ap.add_argument("--env", required=True, help="pod_env.json from prepare_env.py")
    ap.add_argument("--out", required=True)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--gemms-per-unit", type=int, default=400)
    ap.add_argument("--small-units", type=int, default=3)
    ap.add_argument("--large-units", type=int, default=7)
    ap.add_argument("--percent-per-unit", type=int, default=5,
                    help="mixed set: a pod asking p %% gets p / this many units of work")
    ap.add_argument("--skip", default="", help="comma list of phases to skip: checks,slicing,mixed")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    spec = json.load(open(args.env))
    results = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "pipe_directory": os.environ.get("CUDA_MPS_PIPE_DIRECTORY"),
               "gemms_per_unit": args.gemms_per_unit, "webhook": spec.get("webhook")}

    def save():
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1, sort_keys=True)

    base = Client(args, "baseline", {}, wait_go=False).result()
    results["baseline"] = base
    if not base.get("context_ok"):
        save()
        raise SystemExit(f"baseline client failed: {base}")
    full_sms, total_mib = base["sms"], base["total_mib"]
    log(f"baseline: {base['device']}, {full_sms} SMs, {total_mib} MiB")
    unit = trial(args, [("unit", {}, 1)])["unit"]
    results["one_unit_full_gpu_s"] = unit["elapsed_s"]
    log(f"one unit of work on the whole GPU: {unit['elapsed_s']:.3f}s")
    save()
    pods = spec["pods"]
    if "checks" not in skip:
        results["checks"] = check_pods(args, pods, full_sms)
        save()
        results["malformed"] = check_malformed(args, spec["malformed"], full_sms, results["checks"])
        save()
    if "slicing" not in skip:
        results["slicing"] = slicing(args)
        save()
    if "mixed" not in skip:
        results["mixed"] = mixed(args, pods, total_mib)
        save()
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    save()
    ok = results.get("checks", {}).get("all_ok", True)
    log(f"checks all_ok: {ok}")
    if not ok:
        raise SystemExit("a limit check failed: see checks.clients in " + args.out)


if __name__ == "__main__":
    main()
