#!/usr/bin/env python3
"""Writes each fuzz target's seed corpus from the golden fixtures.

usage: seed_corpus.py OUT_DIR [TARGET...]
       seed_corpus.py --list        prints the target names

OUT_DIR/<target>/ gets one file per seed. Fixtures stay where they are in git;
this copies (and, for the extender's {method, path, body} fixtures, unwraps)
them at run time. Large trace CSVs are cut to their first lines so seeds stay
small. Used by run.sh (libFuzzer) and the fuzz_regressions CTest test (replay).
"""

import glob
import hashlib
import json
import os
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MAX_SEED_BYTES = 16 * 1024

# target -> (globs relative to the repository root, transform)
TARGETS = {
    "admission_review": (["tests/fixtures/admission/*/request.json",
                          "tests/fixtures/admission/*/patched.json",
                          "manifests/examples/review.json"], "raw"),
    "admission_patch": (["tests/fixtures/admission/*/request.json",
                         "tests/fixtures/admission/*/patched.json",
                         "manifests/examples/review.json"], "raw"),
    "extender_args": (["tests/fixtures/extender/*/request.json"], "bodies"),
    "extender_binding": (["tests/fixtures/extender/*/request.json"], "bodies"),
    "kube_object": (["tests/fixtures/kube/*.json", "tests/fixtures/extender/*/request.json",
                     "tests/fixtures/admission/*/request.json"], "objects"),
    "watch_stream": (["tests/fixtures/kube/*.json"], "watch"),
    "quantity": ([], "quantities"),
    "webhook_config": (["tests/fuzz/seeds/webhook_config/*", "manifests/install/webhook-configmap.yaml"],
                       "configmap"),
    "extender_config": (["tests/fuzz/seeds/extender_config/*",
                         "manifests/install/extender-configmap.yaml"], "configmap"),
    "node_file": (["tests/fixtures/extender/nodes.yaml", "manifests/examples/nodes.yaml",
                   "tests/fixtures/kube/node.json"], "raw"),
    "kube_lists": (["tests/fixtures/extender/nodes.yaml", "manifests/examples/nodes.yaml",
                    "manifests/examples/pods/*.yaml", "manifests/examples/first-pod.yaml"], "raw"),
    "trace_csv": (["data/alibaba-gpu-v2023/*.csv"], "head"),
    "cdi_spec": (["tests/fixtures/cdi/nvidia/*", "manifests/examples/node/gpu-l4-nvidia-cdi.yaml",
                  "tests/fixtures/cdi/slots/*/slot-spec.json"], "raw"),
    "inventory": (["manifests/examples/node/gpu-l4-inventory.yaml",
                   "tests/fixtures/cdi/slots/*/input.json"], "raw"),
    "yaml_json": (["manifests/examples/**/*.yaml", "tests/fixtures/cdi/nvidia/*.yaml",
                   "tests/fixtures/extender/nodes.yaml"], "raw"),
}

QUANTITIES = ["4Gi", "1.5Gi", "512Mi", "8G", "1e9", "4096", "100m", "-1", "0.5", "1E3", "2Ki",
              "+7", "9223372036854775807", "12345678901234567890Ei", "1.e3", ".5"]


def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


def json_of(data):
    try:
        return json.loads(data)
    except ValueError:
        return None


def dump(value):
    return json.dumps(value, indent=1).encode()


def bodies(data):
    """The extender fixtures' request bodies, setup steps included."""
    fixture = json_of(data)
    if not isinstance(fixture, dict):
        return [data]
    steps = [fixture] + [s for s in fixture.get("setup", []) if isinstance(s, dict)]
    return [s["body"].encode() if isinstance(s["body"], str) else dump(s["body"])
            for s in steps if "body" in s]


def objects(data):
    """Pods and nodes: a whole object, or the ones inside a request."""
    doc = json_of(data)
    if doc is None:
        return []
    found = []

    def walk(value):
        if isinstance(value, dict):
            if value.get("kind") in ("Pod", "Node") or "spec" in value and "metadata" in value:
                found.append(dump(value))
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(doc)
    return found


def watch(data):
    """Watch events for each object, as a watch body reads once de-chunked."""
    doc = json_of(data)
    if doc is None:
        return []
    events = b"".join(json.dumps({"type": t, "object": doc}).encode() + b"\n"
                      for t in ("ADDED", "MODIFIED"))
    # The first byte picks the cut length of the fuzz target.
    return [b"\x05" + events, b"\x00" + events]


def configmap(data):
    """A ConfigMap's embedded file, or the file itself."""
    text = data.decode(errors="replace")
    if "kind: ConfigMap" not in text:
        return [data]
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.rstrip().endswith(": |"):
            body = [l[4:] for l in lines[i + 1:] if l.startswith("    ") or not l.strip()]
            return [("\n".join(body) + "\n").encode()]
    return [data]


def head(data):
    cut = data[:4096]
    return [cut[:cut.rfind(b"\n") + 1] or cut]


TRANSFORMS = {"raw": lambda d: [d], "bodies": bodies, "objects": objects, "watch": watch,
              "configmap": configmap, "head": head}


def seeds(target):
    patterns, transform = TARGETS[target]
    if transform == "quantities":
        return [q.encode() for q in QUANTITIES]
    out = []
    for pattern in patterns:
        for path in sorted(glob.glob(os.path.join(ROOT, pattern), recursive=True)):
            if os.path.isfile(path):
                out.extend(TRANSFORMS[transform](read(path)))
    return [s for s in out if s and len(s) <= MAX_SEED_BYTES]


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    if argv[1] == "--list":
        print("\n".join(sorted(TARGETS)))
        return 0
    out_dir = argv[1]
    targets = argv[2:] or sorted(TARGETS)
    for target in targets:
        if target not in TARGETS:
            sys.stderr.write(f"unknown target {target}; known: {' '.join(sorted(TARGETS))}\n")
            return 2
        directory = os.path.join(out_dir, target)
        os.makedirs(directory, exist_ok=True)
        for seed in seeds(target):
            name = hashlib.sha1(seed).hexdigest()
            with open(os.path.join(directory, name), "wb") as f:
                f.write(seed)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
