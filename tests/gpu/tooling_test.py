#!/usr/bin/env python3
"""CPU-side tests of the GPU validation tooling (no GPU needed).

    python3 tests/gpu/tooling_test.py --webhook build/webhook/mpshare-webhook
"""

import argparse
import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import prepare_env  # noqa: E402
import validate  # noqa: E402
from mini_yaml import load_yaml  # noqa: E402

WEBHOOK = None


def read(path):
    with open(path) as f:
        return f.read()


class MiniYamlTest(unittest.TestCase):
    def test_reads_the_constructs_the_manifests_use(self):
        src = ("# comment\napiVersion: v1\nmetadata:\n  name: p  # trailing\n"
               "  annotations:\n    mpshare.io/thread-percentage: \"30\"\n"
               "spec:\n  containers:\n  - name: a\n    env:\n    - name: X\n      value: '1'\n"
               "    resources:\n      limits:\n        nvidia.com/gpu: \"1\"\n  - name: b\n")
        self.assertEqual(load_yaml(src), {
            "apiVersion": "v1",
            "metadata": {"name": "p", "annotations": {"mpshare.io/thread-percentage": "30"}},
            "spec": {"containers": [
                {"name": "a", "env": [{"name": "X", "value": "1"}],
                 "resources": {"limits": {"nvidia.com/gpu": "1"}}},
                {"name": "b"}]}})

    def test_rejects_what_it_does_not_support(self):
        cases = ["a: [1, 2]\n", "a: |\n  text\n", "a: &anchor x\n", "a:b\n"]
        for src in cases:
            with self.subTest(src=src), self.assertRaisesRegex(ValueError, "line 1"):
                load_yaml(src)

    def test_every_example_pod_parses(self):
        pods = os.path.join(ROOT, "manifests", "examples", "pods")
        for name in sorted(os.listdir(pods)):
            with self.subTest(pod=name):
                pod = load_yaml(read(os.path.join(pods, name)))
                self.assertEqual(pod["kind"], "Pod")
                self.assertTrue(pod["spec"]["containers"][0]["image"])


class PatchTest(unittest.TestCase):
    POD = {"metadata": {"annotations": {"a": "1"}},
           "spec": {"containers": [{"name": "c", "env": [{"name": "E", "value": "v"}]}]}}

    def test_applies_the_ops_the_webhook_emits(self):
        patch = [{"op": "add", "path": "/spec/containers/0/env/-",
                  "value": {"name": "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", "value": "30"}},
                 {"op": "add", "path": "/metadata/annotations/mpshare.io~1x", "value": "y"},
                 {"op": "add", "path": "/spec/hostIPC", "value": True}]
        out = prepare_env.apply_patch(self.POD, patch)
        self.assertEqual([e["name"] for e in out["spec"]["containers"][0]["env"]],
                         ["E", "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"])
        self.assertEqual(out["metadata"]["annotations"]["mpshare.io/x"], "y")
        self.assertTrue(out["spec"]["hostIPC"])
        self.assertEqual(len(self.POD["spec"]["containers"][0]["env"]), 1, "input untouched")

    def test_a_patch_under_a_missing_parent_fails(self):
        with self.assertRaises(KeyError):
            prepare_env.apply_patch(self.POD, [{"op": "add", "path": "/spec/volumes/-",
                                                "value": {}}])


class RulesTest(unittest.TestCase):
    def test_sm_rule_matches_the_h100_measurements(self):
        # Measured on an H100 (132 SMs): percentage -> SMs a client sees.
        for pct, sms in [(1, 8), (5, 8), (10, 12), (25, 32), (30, 38), (33, 42), (50, 66),
                         (70, 92), (75, 98), (100, 132)]:
            with self.subTest(pct=pct):
                self.assertEqual(validate.expected_sms(pct, 132), sms)

    def test_memory_limit_must_be_the_webhook_form(self):
        self.assertEqual(validate.mib_of_limit("0=4096M"), 4096)
        for bad in ("0=4G", "1=4096M", "4096M"):
            with self.subTest(value=bad), self.assertRaises(ValueError):
                validate.mib_of_limit(bad)

    def test_one_gpu_takes_pods_first_fit_within_budgets(self):
        pods = {n: {"threads": t, "memory_mib": m} for n, t, m in
                [("a", 70, 1000), ("b", 30, 1000), ("c", 40, 1000), ("d", None, None),
                 ("e", 20, 9000)]}
        # e (20 %) and b (30 %) fill the memory; c would fit the threads but not the
        # memory, a (70 %) not the threads; d has no annotations: never shared.
        self.assertEqual(validate.pack_one_gpu(pods, 10000), (["e", "b"], 50, 10000))
        self.assertEqual(validate.pack_one_gpu(pods, 100000), (["e", "b", "c"], 90, 11000))


class CommittedEnvTest(unittest.TestCase):
    def setUp(self):
        if WEBHOOK is None:
            self.skipTest("needs --webhook")

    def test_committed_pod_env_matches_the_webhook(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "env.json")
            sys.argv = ["prepare_env.py", "--webhook", WEBHOOK, "--out", out]
            prepare_env.main()
            fresh = json.loads(read(out))
        committed = json.loads(read(os.path.join(HERE, "pod_env.json")))
        self.assertEqual({k: v["mps_env"] for k, v in fresh["pods"].items()},
                         {k: v["mps_env"] for k, v in committed["pods"].items()},
                         "rerun: cmake --build <dir> --target gpu-env")
        self.assertEqual(sorted(fresh["denied"]), sorted(committed["denied"]))
        self.assertEqual([(m["case"], m["webhook"]["allowed"]) for m in fresh["malformed"]],
                         [(m["case"], m["webhook"]["allowed"]) for m in committed["malformed"]])


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--webhook")
    args, rest = ap.parse_known_args()
    WEBHOOK = args.webhook
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
