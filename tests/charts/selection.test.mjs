// Which namespaces the API server sends to the webhook: the rendered
// namespaceSelector evaluated against namespaces' label sets.
import assert from "node:assert/strict";
import { test } from "node:test";
import { refusal, render } from "./lib/helm.mjs";
import { checkAll, get, namespaceLabels as ns, selects } from "./lib/objects.mjs";
import { requireTools } from "./lib/tools.mjs";

requireTools();

const kMWC = "MutatingWebhookConfiguration/mpshare-webhook";

// cases: [labels, selected?]
function checkSelection(what, objects, cases) {
  const selector = get(objects.must(kMWC), "webhooks.0.namespaceSelector");
  for (const [labels, want] of cases) {
    assert.equal(selects(selector, labels), want,
      `${what}: namespace ${JSON.stringify(labels)} selected; selector ${JSON.stringify(selector)}`);
  }
}

// By default only namespaces that opt in are sent to the webhook: a GPU pod
// anywhere else is never mutated and runs as any pod.
test("only opted-in namespaces by default", () => {
  const objects = render();
  checkAll(assert, objects, [
    [kMWC, "webhooks.0.namespaceSelector.matchLabels", { "mpshare.io/enabled": "true" }],
    // The release namespace and kube-system stay out even when labelled.
    [kMWC, "webhooks.0.namespaceSelector.matchExpressions",
      [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["mpshare", "kube-system"] }]],
    [kMWC, "webhooks.0.objectSelector", undefined],
    [kMWC, "webhooks.0.matchConditions", undefined],
  ]);
  checkSelection("default", objects, [
    [ns("ml"), false],
    [ns("default"), false],
    [ns("ml", "mpshare.io/enabled=false"), false],
    [ns("ml", "mpshare.io/enabled=true"), true],
    [ns("ml", "mpshare.io/enabled=true", "pod-security.kubernetes.io/enforce=privileged"), true],
    [ns("mpshare", "mpshare.io/enabled=true"), false],
    [ns("kube-system", "mpshare.io/enabled=true"), false],
  ]);
});

test("the opt-in label can be changed", () => {
  const objects = render({ set: ["webhook.optInLabel.key=example.com/gpu-sharing", "webhook.optInLabel.value=on"] });
  // The label replaces the default one: values are scalars, so nothing merges.
  checkAll(assert, objects, [[kMWC, "webhooks.0.namespaceSelector.matchLabels", { "example.com/gpu-sharing": "on" }]]);
  checkSelection("changed label", objects, [
    [ns("ml", "mpshare.io/enabled=true"), false],
    [ns("ml", "example.com/gpu-sharing=on"), true],
  ]);
  // A boolean from --set still renders as the string a label value is.
  checkAll(assert, render({ set: ["webhook.optInLabel.value=true"] }),
    [[kMWC, "webhooks.0.namespaceSelector.matchLabels", { "mpshare.io/enabled": "true" }]]);
});

// namespaceSelection: all is the behaviour before opt-in: every namespace but the
// excluded ones.
test("all namespaces but the excluded ones on request", () => {
  const objects = render({ set: ["webhook.namespaceSelection=all", "webhook.excludeNamespaces={monitoring}"] });
  checkAll(assert, objects, [
    [kMWC, "webhooks.0.namespaceSelector.matchLabels", undefined],
    [kMWC, "webhooks.0.namespaceSelector.matchExpressions.0.values", ["mpshare", "kube-system", "monitoring"]],
  ]);
  checkSelection("all", objects, [
    [ns("ml"), true],
    [ns("default"), true],
    [ns("mpshare"), false],
    [ns("kube-system"), false],
    [ns("monitoring", "mpshare.io/enabled=true"), false],
  ]);
});

// Extra selector terms are ANDed with the opt-in label and the exclusion.
test("extra namespace selector terms", () => {
  const objects = render({ set: ["webhook.namespaceSelector.matchLabels.team=ml", "webhook.excludeNamespaces={sandbox}"] });
  checkSelection("extra terms", objects, [
    [ns("a", "team=ml"), false],
    [ns("a", "mpshare.io/enabled=true"), false],
    [ns("a", "mpshare.io/enabled=true", "team=ml"), true],
    [ns("sandbox", "mpshare.io/enabled=true", "team=ml"), false],
  ]);
});

test("matchConditions only when enabled, on Kubernetes 1.28 or newer", () => {
  const want = "(has(object.spec.schedulerName) && object.spec.schedulerName == 'mpshare-scheduler') || " +
    "(has(object.metadata.annotations) && object.metadata.annotations.exists(k, k.startsWith('mpshare.io/')))";
  for (const kubeVersion of ["v1.28.0", "v1.30.2", "1.31"]) {
    const objects = render({ kubeVersion, set: ["webhook.matchConditions.enabled=true"] });
    checkAll(assert, objects, [
      [kMWC, "webhooks.0.matchConditions", [{ name: "mpshare-scheduler-or-annotations", expression: want }]],
      // The namespace opt-in still applies.
      [kMWC, "webhooks.0.namespaceSelector.matchLabels", { "mpshare.io/enabled": "true" }],
    ]);
  }
  // The scheduler's name is the one pods opt in with.
  const named = render({ set: ["webhook.matchConditions.enabled=true", "scheduler.name=gpu-packer"] });
  assert.match(get(named.must(kMWC), "webhooks.0.matchConditions.0.expression"), /object\.spec\.schedulerName == 'gpu-packer'/);
  // Off by default, whatever the cluster's version.
  for (const kubeVersion of ["v1.25.0", "v1.30.0"]) {
    checkAll(assert, render({ kubeVersion }), [[kMWC, "webhooks.0.matchConditions", undefined]]);
  }
  // Asked for on a cluster without matchConditions: the render fails naming the value.
  const err = refusal({ kubeVersion: "v1.27.9", set: ["webhook.matchConditions.enabled=true"] });
  assert.match(err, /webhook\.matchConditions\.enabled needs Kubernetes 1\.28 or newer/);
});
