// The plain manifests committed under manifests/ are exactly what helm renders now,
// and manifests/install/ applies with `kubectl apply -f manifests/install/`.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseDocuments } from "./lib/helm.mjs";
import { repoRoot, requireTools } from "./lib/tools.mjs";
import { kInstallDir, staleManifests } from "./render_manifests.mjs";

requireTools();

test("the committed plain manifests are the chart's render", () => {
  assert.deepEqual(staleManifests(), [], "regenerate with: tests/charts/render-manifests.sh");
});

// kubectl reads every .yaml/.yml/.json file of the folder in name order and applies
// each object in turn. On a cluster with cert-manager that must succeed: every
// document is an object, each namespace exists before anything is put in it, and
// nothing in the folder blocks pod creation before the webhook answers.
test("manifests/install applies in name order", () => {
  const names = readdirSync(join(repoRoot, kInstallDir)).filter((n) => /\.(yaml|yml|json)$/.test(n)).sort();
  assert.ok(names.length > 0, `no manifests in ${kInstallDir}`);
  const created = new Set(["kube-system", "default"]); // every cluster has these
  for (const name of names) {
    for (const { object } of parseDocuments(readFileSync(join(repoRoot, kInstallDir, name), "utf8"))) {
      const { kind, apiVersion, metadata } = object;
      assert.ok(kind && apiVersion && metadata?.name, `${name}: a document without apiVersion, kind and metadata.name`);
      assert.ok(!/^(Mutating|Validating)WebhookConfiguration$/.test(kind),
        `${name}: ${kind} belongs in manifests/webhook/, applied once the webhook is ready`);
      if (kind === "Namespace") created.add(metadata.name);
      if (metadata.namespace) {
        assert.ok(created.has(metadata.namespace),
          `${name}: ${kind}/${metadata.name} goes into namespace ${metadata.namespace} before a file that creates it`);
      }
    }
  }
});
