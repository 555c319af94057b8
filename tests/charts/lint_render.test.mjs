// Every value combination that matters passes `helm lint --strict`, renders with
// `helm template`, and renders only objects the Kubernetes API schemas accept.
// Between them the combinations render every template of the chart.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { kCombos } from "./lib/combos.mjs";
import { helmLint, helmTemplate, parseDocuments } from "./lib/helm.mjs";
import { chartDir, requireTools } from "./lib/tools.mjs";
import { validateObject } from "./lib/validate.mjs";

requireTools();

// Kinds without a namespace. Every other object must name one, or `kubectl apply`
// of the plain manifests would put it in "default": the release's, or kube-system
// (where the API server's authentication-reader Role is bound).
const kClusterScoped = new Set([
  "Namespace", "ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration", "CustomResourceDefinition", "PriorityClass", "ClusterIssuer",
  "RuntimeClass", "StorageClass",
]);

// Templates that only check values and never render an object.
const kRenderNothing = new Set(["templates/validate.yaml"]);

const renderedSources = new Set();

for (const combo of kCombos) {
  test(`helm lint --strict: ${combo.name}`, () => {
    const r = helmLint(combo);
    assert.ok(r.ok, `${r.command}\n${r.stdout}${r.stderr}`);
    assert.doesNotMatch(r.stdout, /\[(WARNING|ERROR)\]/, `${r.command}\n${r.stdout}`);
  });

  test(`helm template renders valid objects: ${combo.name}`, async () => {
    const r = helmTemplate(combo);
    assert.ok(r.ok, `${r.command}\n${r.stderr}`);
    const docs = parseDocuments(r.stdout);
    assert.ok(docs.length > 0, `${r.command} rendered nothing`);
    for (const { source } of docs) renderedSources.add(source);
    const seen = new Set();
    for (const { source, object } of docs) {
      const key = `${object.kind}/${object.metadata?.name}`;
      assert.ok(!seen.has(key), `${key} rendered twice`);
      seen.add(key);
      await validateObject(object).catch((err) => assert.fail(`${source}: ${err.message}`));
      const namespace = object.metadata?.namespace;
      if (kClusterScoped.has(object.kind)) {
        assert.equal(namespace, undefined, `${source}: ${key} is cluster-scoped but names namespace ${namespace}`);
      } else {
        assert.ok(["mpshare", "kube-system"].includes(namespace),
          `${source}: ${key} must name the release namespace, got ${namespace}`);
      }
    }
  });
}

// The check above passes only because the schemas hold: it refuses what the API
// server refuses, for built-in kinds and the CRDs the chart renders alike, and a
// misspelt built-in kind is not taken for a custom resource.
test("the schema check refuses invalid objects", async () => {
  const meta = { name: "x", namespace: "mpshare" };
  const invalid = [
    [{ apiVersion: "apps/v1", kind: "Deployment", metadata: meta, spec: { replicas: "2" } }, /replicas must be integer/],
    [{ apiVersion: "v1", kind: "ConfigMap", metadata: meta, data: { a: 3 } }, /data\/a must be string/],
    [{ apiVersion: "v1", kind: "Service", metadata: meta, spec: { ports: [{ port: "https" }] } }, /port must be integer/],
    [{ apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule", metadata: meta,
      spec: { groups: [{ name: "g", rules: [{ alert: "A" }] }] } }, /required property 'expr'|required property expr/],
    [{ apiVersion: "cert-manager.io/v1", kind: "Certificate", metadata: meta, spec: { secretName: "s" } }, /issuerRef/],
    [{ apiVersion: "example.com/v1", kind: "Widget", metadata: { ...meta, labels: { a: 1 } } }, /labels\/a must be string/],
    [{ apiVersion: "apps/v1", kind: "Deploymnet", metadata: meta }, /no kind Deploymnet in apps\/v1/],
    [{ apiVersion: "v1", kind: "Configmap", metadata: meta }, /no kind Configmap in v1/],
  ];
  for (const [object, want] of invalid) {
    await assert.rejects(validateObject(object), want, `${object.kind} accepted`);
  }
  const valid = { apiVersion: "v1", kind: "ConfigMap", metadata: meta, data: { a: "b" } };
  assert.equal(await validateObject(valid), "kubernetes-models");
});

test("the combinations render every template", () => {
  const templates = readdirSync(join(chartDir, "templates"))
    .filter((f) => /\.(yaml|yml|json)$/.test(f) && !f.startsWith("_"))
    .map((f) => `templates/${f}`);
  const never = templates.filter((t) => !renderedSources.has(t) && !kRenderNothing.has(t));
  assert.deepEqual(never, [], "templates no combination in lib/combos.mjs renders; add one that does");
});
