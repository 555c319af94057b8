#!/usr/bin/env python3
"""Turns a GPU validation results.json into the result tables of
docs/gpu-validation.md (between its results markers) and the charts
docs/img/gpu-slicing.svg and docs/img/gpu-mixed.svg (gnuplot).

    python3 tests/gpu/report.py tests/gpu/results/h100-results.json

Python standard library and the gnuplot binary only.
"""

import argparse
import json
import os
import subprocess
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
MIXED_LABELS = {"mpshare": "mpshare (each pod at its annotated %)", "no_limits": "no limits",
                "equal_20": "equal 20 % each (device plugin)"}
SLICING_LABELS = {"no_limits": "no limits", "equal_50_50": "equal 50/50",
                  "proportional_30_70": "proportional 30/70"}


def yes(ok):
    return "yes" if ok else "**NO**"


def checks_table(r):
    rows = ["| pod | env from the webhook | SMs seen (expected) | memory seen (free / cap MiB) "
            "| context share MiB | inside cap | at cap, cap + 1 GiB | pass |",
            "|---|---|---|---|---|---|---|---|"]
    for c in r["checks"]["clients"]:
        p, env = c["probe"], c["env"]
        env_s = ", ".join(f"`{k.replace('CUDA_MPS_', '')}={v}`" for k, v in env.items()) \
            or "none (whole GPU)"
        if "allocs" in p:
            a = {x["label"]: x for x in p["allocs"]}
            mem = f"{p['free_mib']} / {p['limit_mib']}"
            inside = f"{a['inside']['mib']} MiB {'ok' if a['inside']['ok'] else 'failed'}"
            beyond = "both fail" if c["beyond_fails"] else "**succeeded**"
            share = str(c["context_share_mib"])
        else:
            mem, inside, beyond, share = f"{p['free_mib']} / none", "-", "-", "-"
        rows.append(f"| {c['pod']} | {env_s} | {p['sms']} ({c['expected_sms']}) | {mem} | "
                    f"{share} | {inside} | {beyond} | {yes(c['ok'])} |")
    servers = r["checks"]["mps_servers"]
    rows.append("")
    rows.append(f"All {len(r['checks']['clients'])} probes were connected at once: the control "
                f"daemon listed {r['checks']['mps_client_count']} clients of "
                f"{len(servers)} MPS server(s) while they waited.")
    return "\n".join(rows)


def malformed_table(r):
    rows = ["| case | value set raw in the env | what MPS did (probe) | webhook on the annotation |",
            "|---|---|---|---|"]
    for m in r["malformed"]:
        raw = ", ".join(f"`{k.replace('CUDA_MPS_', '')}={v}`" for k, v in m["raw_env"].items())
        ann = ", ".join(f"`{k}: \"{v}\"`" for k, v in m["annotations"].items())
        p = m["probe"]
        effect = m["mps_effect"]
        if p.get("context_ok") and "allocs" in p:
            beyond = next(a for a in p["allocs"] if a["label"] == "beyond")
            effect += f" ({beyond['mib']} MiB allocation {'succeeded' if beyond['ok'] else 'failed'})"
        elif p.get("context_ok"):
            effect += f" ({p['sms']} SMs)"
        wh = m["webhook"]
        if wh["allowed"]:
            env = ", ".join(f"`{v}`" for v in wh.get("mps_env", {}).values())
            wp = m.get("webhook_env_probe", {})
            held = wp.get("allocs") and not any(a["ok"] for a in wp["allocs"]
                                                if a["label"] != "inside")
            verdict = f"allowed as {env}: cap {'held' if held else '**not held**'} on the GPU"
        else:
            verdict = f"denied: {wh['message']}"
        rows.append(f"| {m['case']} ({ann}) | {raw} | {effect} | {verdict} |")
    return "\n".join(rows)


def slicing_table(r):
    s = r["slicing"]
    med = s["median"]
    rows = [f"Work: small client {s['units']['small']} units, large client "
            f"{s['units']['large']} units; {s['reps']} repetitions, medians. Alone on the whole "
            f"GPU: small {med['alone_full_gpu']['small_s']:.3f} s, large "
            f"{med['alone_full_gpu']['large_s']:.3f} s.", "",
            "| thread split | SMs (small / large) | small client done | large client done "
            "| makespan |", "|---|---|---|---|---|"]
    for k, label in SLICING_LABELS.items():
        m = med[k]
        rows.append(f"| {label} | {m['small_sms']} / {m['large_sms']} | {m['small_s']:.3f} s | "
                    f"{m['large_s']:.3f} s | {m['makespan_s']:.3f} s |")
    eq, pr = med["equal_50_50"]["makespan_s"], med["proportional_30_70"]["makespan_s"]
    rows.append("")
    rows.append(f"Proportional 30/70 finishes the pair {100 * (1 - pr / eq):.0f} % sooner than "
                f"equal 50/50 ({pr:.3f} s vs {eq:.3f} s).")
    spread = {k: (min(x["makespan_s"] for x in v), max(x["makespan_s"] for x in v))
              for k, v in s["runs"].items()}
    rows.append("Makespan range over the repetitions: " + "; ".join(
        f"{SLICING_LABELS[k]} {lo:.3f}-{hi:.3f} s" for k, (lo, hi) in spread.items()) + ".")
    return "\n".join(rows)


def mixed_table(r):
    m = r["mixed"]
    pods = m["pods"]
    cfgs = list(m["median"])
    rows = [f"Pods on one GPU: {', '.join(pods)} ({m['threads_total']} % of the threads, "
            f"{m['memory_total_mib']} MiB of pinned memory); work units "
            + ", ".join(f"{p} {m['units'][p]}" for p in pods)
            + f"; {m['reps']} repetitions, medians.", "",
            "| configuration | makespan | throughput (units/s) | mean / max slowdown vs "
            "alone on the whole GPU |", "|---|---|---|---|"]
    for c in cfgs:
        x = m["median"][c]
        rows.append(f"| {MIXED_LABELS.get(c, c)} | {x['makespan_s']:.3f} s | {x['throughput_units_per_s']:.2f} | "
                    f"{x['mean_slowdown']:.2f} / {x['max_slowdown']:.2f} |")
    rows += ["", "Per pod: finish time in seconds (slowdown vs alone on the whole GPU; vs alone "
             "in its own mpshare slice).", "",
             "| pod | asks | alone, whole GPU | alone, own slice | "
             + " | ".join(MIXED_LABELS.get(c, c) for c in cfgs) + " |",
             "|---" * (4 + len(cfgs)) + "|"]
    for p in pods:
        cells = []
        for c in cfgs:
            x = m["median"][c]
            cells.append(f"{x['finish_s'][p]:.2f} ({x['slowdown'][p]:.1f}x; "
                         f"{x['slowdown_vs_own_slice'][p]:.2f}x)")
        asks = r["checks"] and next((c["env"] for c in r["checks"]["clients"] if c["pod"] == p), {})
        asks_s = f"{asks.get('CUDA_MPS_ACTIVE_THREAD_PERCENTAGE', '?')} %"
        rows.append(f"| {p} | {asks_s} | {m['alone_full_gpu_s'][p]:.2f} | "
                    f"{m['alone_own_slice_s'][p]:.2f} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def machine_line(r):
    b = r["baseline"]
    return (f"Device: {b['device']}, {b['sms']} SMs, {b['total_mib']} MiB seen by a CUDA "
            f"context; one unit of work = {r['gemms_per_unit']} fp16 GEMMs of "
            f"{4096}x{4096}x{4096} ({r['one_unit_full_gpu_s']:.3f} s alone on the whole GPU). "
            f"Run started {r['started']}, env from webhook tree `{r['webhook']['tree']}`.")


def plot(r, img_dir):
    s = r["slicing"]["median"]
    mixed = r["mixed"]["median"]
    with tempfile.TemporaryDirectory() as tmp:
        sd, md = os.path.join(tmp, "slicing.dat"), os.path.join(tmp, "mixed.dat")
        with open(sd, "w") as f:
            for k, label in SLICING_LABELS.items():
                f.write(f"\"{label}\" {s[k]['small_s']:.4f} {s[k]['large_s']:.4f}\n")
        pods = r["mixed"]["pods"]
        with open(md, "w") as f:
            for p in pods:
                f.write(f"\"{p}\" " + " ".join(f"{mixed[c]['finish_s'][p]:.4f}" for c in mixed)
                        + "\n")
        cfgs = list(mixed)
        script = f"""
set terminal svg size 760,420 dynamic font 'sans,12' background '#ffffff'
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set grid ytics
set key below horizontal
set termoption noenhanced
set ylabel 'seconds after the common start'
set yrange [0:*]
set output '{os.path.join(img_dir, 'gpu-slicing.svg')}'
set title 'Two MPS clients, 3:7 work, one H100: finish times (median of {r['slicing']['reps']})'
plot '{sd}' using 2:xtic(1) title 'small client (3 units)', '' using 3 title 'large client (7 units): the makespan'
set output '{os.path.join(img_dir, 'gpu-mixed.svg')}'
set title 'Five example pods on one GPU: finish time per pod (median of {r['mixed']['reps']})'
plot """ + ", ".join(f"'{md}' using {i + 2}{':xtic(1)' if i == 0 else ''} title '{MIXED_LABELS.get(c, c)}'"
                     for i, c in enumerate(cfgs)) + "\n"
        subprocess.run(["gnuplot"], input=script, text=True, check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "gpu-validation.md"))
    ap.add_argument("--img-dir", default=os.path.join(ROOT, "docs", "img"))
    args = ap.parse_args()
    r = json.load(open(args.results))
    body = "\n\n".join([
        machine_line(r),
        "### Limits from the webhook, all pods at once\n\n" + checks_table(r),
        "### Malformed values: raw in MPS vs through the webhook\n\n" + malformed_table(r),
        "### Slicing experiment\n\n" + slicing_table(r)
        + "\n\n![slicing experiment](img/gpu-slicing.svg)",
        "### Mixed pods on one GPU\n\n" + mixed_table(r)
        + "\n\n![mixed pods](img/gpu-mixed.svg)"])
    doc = open(args.doc).read()
    if BEGIN not in doc or END not in doc:
        raise SystemExit(f"{args.doc} lacks the markers {BEGIN} / {END}")
    head, rest = doc.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    with open(args.doc, "w") as f:
        f.write(f"{head}{BEGIN}\n<!-- generated by tests/gpu/report.py; do not edit -->\n\n"
                f"{body}\n\n{END}{tail}")
    os.makedirs(args.img_dir, exist_ok=True)
    plot(r, args.img_dir)
    print(f"wrote {args.doc} and the charts in {args.img_dir}")


if __name__ == "__main__":
    main()
