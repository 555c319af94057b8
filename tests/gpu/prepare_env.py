#!/usr/bin/env python3
"""Asks the real webhook (`mpshare-webhook review`) what env each example pod's GPU
container gets, and writes it as the input of the GPU validation.

    python3 tests/gpu/prepare_env.py --webhook build/webhook/mpshare-webhook \
        [--pods manifests/examples/pods] [--out tests/gpu/pod_env.json]

Output: {"pods": {pod: {container, mps_env, threads, memory_mib, warnings}},
         "denied": {pod: message}, "malformed": [case...]}. `mps_env` holds the
MPS limit variables exactly as the patched container has them; the pipe
directory is recorded separately (`pipe_directory`), since the GPU machine's
private daemon has its own. Python standard library only.
"""

import argparse
import base64
import copy
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mini_yaml import load_yaml  # noqa: E402

THREADS = "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"
MEMORY = "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"
PIPE = "CUDA_MPS_PIPE_DIRECTORY"
GPU_RESOURCES = ("nvidia.com/gpu", "nvidia.com/gpu.shared")

# Values a user could write that MPS would not apply as meant. Each is sent to the
# webhook as an annotation and run raw (what a pod setting the env itself gets).
MALFORMED = [
    {"case": "threads-130", "annotations": {"mpshare.io/thread-percentage": "130"},
     "raw_env": {THREADS: "130"}},
    {"case": "threads-0", "annotations": {"mpshare.io/thread-percentage": "0"},
     "raw_env": {THREADS: "0"}},
    {"case": "memory-1.5G", "annotations": {"mpshare.io/memory-limit": "1.5G"},
     "raw_env": {MEMORY: "1.5G"}, "intended_limit_mib": 1430},
    {"case": "memory-0=1.5G", "annotations": {"mpshare.io/memory-limit": "1.5Gi"},
     "raw_env": {MEMORY: "0=1.5G"}, "intended_limit_mib": 1536},
    {"case": "memory-unseen-ordinal", "annotations": {"mpshare.io/memory-limit": "2Gi"},
     "raw_env": {MEMORY: "0=2G,1=1G"}, "intended_limit_mib": 2048},
    {"case": "memory-100Mi", "annotations": {"mpshare.io/memory-limit": "100Mi"},
     "raw_env": {MEMORY: "0=100M"}, "intended_limit_mib": 100},
]


def admission_review(pod, uid):
    meta = pod.get("metadata", {})
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": uid, "kind": {"group": "", "version": "v1", "kind": "Pod"},
                        "resource": {"group": "", "version": "v1", "resource": "pods"},
                        "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
                        "requestResource": {"group": "", "version": "v1", "resource": "pods"},
                        "name": meta.get("name", ""), "namespace": meta.get("namespace", ""),
                        "operation": "CREATE",
                        "userInfo": {"username": "gpu-validation", "groups": []},
                        "object": pod, "oldObject": None, "dryRun": False,
                        "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}}}


def review(webhook, pod, uid):
    """The webhook's AdmissionReview response for `pod`; raises on a malformed reply."""
    p = subprocess.run([webhook, "review"], input=json.dumps(admission_review(pod, uid)),
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise RuntimeError(f"mpshare-webhook review exited {p.returncode}: {p.stderr.strip()}")
    resp = json.loads(p.stdout)["response"]
    if resp.get("uid") != uid:
        raise RuntimeError(f"response uid {resp.get('uid')!r} != {uid!r}")
    return resp


def _pointer(path):
    return [t.replace("~1", "/").replace("~0", "~") for t in path.split("/")[1:]]


def apply_patch(doc, patch):
    """RFC 6902 add/replace/remove, enough for the webhook's patches. A patch that
    does not apply raises, as it would fail at the API server."""
    doc = copy.deepcopy(doc)
    for op in patch:
        *parents, last = _pointer(op["path"])
        target = doc
        for t in parents:
            target = target[int(t)] if isinstance(target, list) else target[t]
        if op["op"] in ("add", "replace"):
            if isinstance(target, list):
                if last == "-":
                    target.append(op["value"])
                elif op["op"] == "add":
                    target.insert(int(last), op["value"])
                else:
                    target[int(last)] = op["value"]
            else:
                if op["op"] == "replace" and last not in target:
                    raise KeyError(f"replace of missing {op['path']}")
                target[last] = op["value"]
        elif op["op"] == "remove":
            del target[int(last) if isinstance(target, list) else last]
        else:
            raise ValueError(f"unsupported patch op {op['op']!r}")
    return doc


def gpu_containers(pod):
    spec = pod.get("spec", {})
    for kind in ("initContainers", "containers"):
        for c in spec.get(kind) or []:
            res = c.get("resources") or {}
            amounts = [str((res.get(k) or {}).get(r, "0")) for k in ("limits", "requests")
                       for r in GPU_RESOURCES]
            if any(a not in ("0", "") for a in amounts):
                yield c


def decide(webhook, pod, uid):
    """{allowed, message, warnings, containers: {name: env dict}} for one pod."""
    resp = review(webhook, pod, uid)
    out = {"allowed": bool(resp.get("allowed")), "warnings": resp.get("warnings") or []}
    if not out["allowed"]:
        out["message"] = (resp.get("status") or {}).get("message", "")
        return out
    patched = pod
    if resp.get("patch"):
        patched = apply_patch(pod, json.loads(base64.b64decode(resp["patch"])))
    out["containers"] = {c["name"]: {e["name"]: e.get("value", "") for e in c.get("env") or []}
                         for c in gpu_containers(patched)}
    return out


def mps_env_of(env):
    return {k: v for k, v in env.items() if k in (THREADS, MEMORY)}


def main():
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--webhook", required=True, help="path to the mpshare-webhook binary")
    ap.add_argument("--pods", default=os.path.join(root, "manifests", "examples", "pods"))
    ap.add_argument("--out", default=os.path.join(root, "tests", "gpu", "pod_env.json"))
    args = ap.parse_args()

    commit = subprocess.run(["git", "-C", root, "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip()
    result = {"source": "mpshare-webhook review on manifests/examples/pods",
              "webhook": {"binary": os.path.basename(args.webhook), "tree": commit or "unknown"},
              "pods": {}, "denied": {}, "malformed": []}
    template = None
    for fname in sorted(os.listdir(args.pods)):
        if not fname.endswith((".yaml", ".yml")):
            continue
        with open(os.path.join(args.pods, fname)) as f:
            pod = load_yaml(f.read())
        name = pod["metadata"]["name"]
        if name == "infer-medium":
            template = pod
        d = decide(args.webhook, pod, f"gpu-validation-{name}")
        if not d["allowed"]:
            result["denied"][name] = d["message"]
            continue
        for cname, env in d["containers"].items():
            key = name if len(d["containers"]) == 1 else f"{name}/{cname}"
            mps = mps_env_of(env)
            result["pods"][key] = {
                "container": cname, "mps_env": mps, "pipe_directory": env.get(PIPE),
                "threads": int(mps[THREADS]) if THREADS in mps else None,
                "memory_mib": int(mps[MEMORY][2:-1]) if MEMORY in mps else None,
                "warnings": d["warnings"]}
    if template is None:
        raise SystemExit("infer-medium.yaml not found: it is the template of the malformed cases")
    for case in MALFORMED:
        pod = copy.deepcopy(template)
        pod["metadata"]["name"] = f"malformed-{case['case']}".replace(".", "-").replace("=", "-")
        pod["metadata"]["annotations"] = dict(case["annotations"])
        d = decide(args.webhook, pod, f"gpu-validation-{case['case']}")
        wh = {"allowed": d["allowed"], "message": d.get("message", ""), "warnings": d["warnings"]}
        if d["allowed"]:
            wh["mps_env"] = mps_env_of(next(iter(d["containers"].values())))
        result["malformed"].append({**case, "webhook": wh})
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{len(result['pods'])} GPU containers admitted, {len(result['denied'])} pods denied, "
          f"{len(result['malformed'])} malformed cases -> {args.out}")


if __name__ == "__main__":
    main()
