// What the chart renders by default and with its main overrides: the objects of each
// component and the fields the binaries and the API server depend on.
import assert from "node:assert/strict";
import { test } from "node:test";
import { render } from "./lib/helm.mjs";
import { checkAll, embedded, get, secretPem, verifiesFor } from "./lib/objects.mjs";
import { requireTools } from "./lib/tools.mjs";

requireTools();

const kMWC = "MutatingWebhookConfiguration/mpshare-webhook";
const kWebhookDp = "Deployment/mpshare-webhook";
const kSchedDp = "Deployment/mpshare-scheduler";
const kDaemon = "DaemonSet/mpshare-mps-daemon";
const kAgent = "DaemonSet/mpshare-node";
const kSchedulerConfigKey = "kube-scheduler-config.yaml";

test("the default render holds every component, and only those", () => {
  const objects = render();
  const want = [
    "ConfigMap/mpshare-webhook", "Secret/mpshare-webhook-tls", "ServiceAccount/mpshare-webhook",
    "Service/mpshare-webhook", kWebhookDp, "PodDisruptionBudget/mpshare-webhook", kMWC,
    "ConfigMap/mpshare-scheduler", "ServiceAccount/mpshare-scheduler", kSchedDp,
    "ClusterRoleBinding/mpshare-scheduler-kube-scheduler", "ClusterRoleBinding/mpshare-scheduler-volume-scheduler",
    "Role/mpshare-scheduler-leader-election", "RoleBinding/mpshare-scheduler-leader-election",
    "RoleBinding/mpshare-scheduler-auth-reader",
    "ConfigMap/mpshare-extender", "ClusterRole/mpshare-extender", "ClusterRoleBinding/mpshare-extender",
    kAgent, "ServiceAccount/mpshare-node", "ClusterRole/mpshare-node", "ClusterRoleBinding/mpshare-node",
  ];
  // The node agent runs the MPS daemons: the old DaemonSet is not rendered beside it;
  // no Namespace, extender Deployment or ServiceMonitor unless asked for.
  assert.deepEqual([...objects.keys()].sort(), want.sort());
});

test("MutatingWebhookConfiguration", () => {
  const objects = render();
  const w = "webhooks.0.";
  checkAll(assert, objects, [
    [kMWC, w + "name", "mutate.mpshare.io"],
    [kMWC, w + "admissionReviewVersions", ["v1"]],
    [kMWC, w + "sideEffects", "None"],
    [kMWC, w + "failurePolicy", "Fail"],
    [kMWC, w + "timeoutSeconds", 10],
    [kMWC, w + "reinvocationPolicy", "IfNeeded"],
    [kMWC, w + "rules.0.operations", ["CREATE"]],
    [kMWC, w + "rules.0.apiGroups", [""]],
    [kMWC, w + "rules.0.apiVersions", ["v1"]],
    [kMWC, w + "rules.0.resources", ["pods"]],
    [kMWC, w + "clientConfig.service.name", "mpshare-webhook"],
    [kMWC, w + "clientConfig.service.namespace", "mpshare"],
    [kMWC, w + "clientConfig.service.port", 443],
    [kMWC, w + "namespaceSelector.matchExpressions",
      [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["mpshare", "kube-system"] }]],
    [kMWC, w + "namespaceSelector.matchLabels", { "mpshare.io/enabled": "true" }],
    [kMWC, w + "objectSelector", undefined],
    [kMWC, "metadata.annotations", undefined],
  ]);
});

// The caBundle the API server trusts must verify the certificate the server serves,
// for the Service's DNS names; both come from one generation.
test("the Helm-generated webhook certificate matches the caBundle", () => {
  const objects = render();
  const caBundle = Buffer.from(get(objects.must(kMWC), "webhooks.0.clientConfig.caBundle"), "base64").toString();
  const secret = "Secret/mpshare-webhook-tls";
  assert.equal(get(objects.must(secret), "type"), "kubernetes.io/tls");
  assert.equal(secretPem(objects, secret, "ca.crt"), caBundle, "Secret ca.crt differs from the caBundle");
  secretPem(objects, secret, "tls.key");
  for (const name of ["mpshare-webhook.mpshare.svc", "mpshare-webhook.mpshare.svc.cluster.local"]) {
    assert.deepEqual(verifiesFor(caBundle, secretPem(objects, secret, "tls.crt"), name), [], name);
  }
});

test("webhook Deployment, Service and config", () => {
  const objects = render();
  const c = "spec.template.spec.containers.0.";
  checkAll(assert, objects, [
    [kWebhookDp, "spec.replicas", 2],
    [kWebhookDp, "spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution.0.podAffinityTerm.topologyKey", "kubernetes.io/hostname"],
    [kWebhookDp, c + "command", ["mpshare-webhook"]],
    [kWebhookDp, c + "args", ["serve", "--listen", "0.0.0.0:8443", "--tls-cert", "/tls/tls.crt", "--tls-key",
      "/tls/tls.key", "--config", "/config/webhook.yaml", "--metrics-listen", "0.0.0.0:9090", "--threads", "4",
      "--shutdown-delay", "5"]],
    // The delay, then up to 20 s of draining, within the grace period.
    [kWebhookDp, "spec.template.spec.terminationGracePeriodSeconds", 30],
    [kWebhookDp, c + "ports.0.containerPort", 8443],
    [kWebhookDp, c + "ports.1.name", "metrics"],
    [kWebhookDp, c + "volumeMounts.0.mountPath", "/tls"],
    // A subPath mount would never see the kubelet's update of a rotated Secret.
    [kWebhookDp, c + "volumeMounts.0.subPath", undefined],
    [kWebhookDp, "spec.template.spec.volumes.0.secret.secretName", "mpshare-webhook-tls"],
    [kWebhookDp, "spec.template.spec.volumes.1.configMap.name", "mpshare-webhook"],
    ["Service/mpshare-webhook", "spec.ports.0.port", 443],
    ["Service/mpshare-webhook", "spec.ports.0.targetPort", "https"],
    ["Service/mpshare-webhook", "spec.ports.1.port", 9090],
  ]);
  const cfg = embedded(objects, "mpshare-webhook", "webhook.yaml").webhook;
  assert.deepEqual(cfg.gpuResourceNames, ["nvidia.com/gpu", "nvidia.com/gpu.shared"]);
  assert.equal(cfg.daemonAccess.pipeDirectory, "/run/mpshare/mps/pipe");
  assert.equal(cfg.daemonAccess.inject, true);
  // The node agent's CDI edits carry the pipe; the webhook keeps hostIPC.
  assert.equal(cfg.daemonAccess.pipe, false);
  assert.equal(cfg.minMemoryLimit, "256Mi");
});

test("scheduler and extender sidecar", () => {
  const objects = render();
  const sc = embedded(objects, "mpshare-scheduler", kSchedulerConfigKey);
  assert.equal(sc.apiVersion, "kubescheduler.config.k8s.io/v1");
  assert.equal(sc.kind, "KubeSchedulerConfiguration");
  assert.equal(sc.profiles[0].schedulerName, "mpshare-scheduler");
  assert.equal(sc.leaderElection.leaderElect, true);
  assert.equal(sc.leaderElection.resourceName, "mpshare-scheduler");
  // Every feasible node reaches the extender, not kube-scheduler's adaptive sample.
  assert.equal(sc.percentageOfNodesToScore, 100);
  assert.equal(
    embedded(render({ set: ["scheduler.percentageOfNodesToScore=0"] }), "mpshare-scheduler", kSchedulerConfigKey)
      .percentageOfNodesToScore, 0);
  assert.deepEqual(sc.extenders[0], {
    urlPrefix: "http://127.0.0.1:8888/scheduler", filterVerb: "filter", prioritizeVerb: "prioritize",
    bindVerb: "bind", weight: 5, nodeCacheCapable: true, ignorable: false, httpTimeout: "5s", enableHTTPS: false,
    managedResources: [{ name: "nvidia.com/gpu", ignoredByScheduler: false },
      { name: "nvidia.com/gpu.shared", ignoredByScheduler: false }],
  });
  const c = "spec.template.spec.containers.";
  checkAll(assert, objects, [
    [kSchedDp, c + "0.image", "registry.k8s.io/kube-scheduler:v1.31.0"],
    [kSchedDp, c + "0.command.1", "--config=/etc/kubernetes/mpshare/kube-scheduler-config.yaml"],
    [kSchedDp, c + "1.name", "extender"],
    [kSchedDp, c + "1.args", ["serve", "--listen", "127.0.0.1:8888", "--config", "/config/extender.yaml",
      "--shutdown-delay", "5"]],
    // The extender's delay, then up to 20 s of draining, within the pod's grace period.
    [kSchedDp, "spec.template.spec.terminationGracePeriodSeconds", 30],
    [kSchedDp, "spec.template.spec.serviceAccountName", "mpshare-scheduler"],
    ["ClusterRoleBinding/mpshare-scheduler-kube-scheduler", "roleRef.name", "system:kube-scheduler"],
    ["ClusterRoleBinding/mpshare-scheduler-volume-scheduler", "roleRef.name", "system:volume-scheduler"],
    ["ClusterRoleBinding/mpshare-extender", "subjects.0.name", "mpshare-scheduler"],
    ["ClusterRole/mpshare-extender", "rules.2.resources", ["pods/binding"]],
    ["ClusterRole/mpshare-extender", "rules.2.verbs", ["create"]],
  ]);
  const role = objects.must("ClusterRole/mpshare-extender");
  for (const verb of ["list", "watch"]) assert.ok(get(role, "rules.0.verbs").includes(verb), `nodes ${verb}`);
  for (const verb of ["get", "list", "watch"]) assert.ok(get(role, "rules.1.verbs").includes(verb), `pods ${verb}`);
});

test("mps-daemon DaemonSet without the node agent", () => {
  const objects = render({ set: ["nodeAgent.enabled=false"] });
  const s = "spec.template.spec.";
  const c = s + "containers.0.";
  checkAll(assert, objects, [
    [kDaemon, s + "nodeSelector", { "mpshare.io/mps": "enabled" }],
    [kDaemon, s + "hostIPC", true],
    [kDaemon, c + "securityContext.privileged", false],
    [kDaemon, c + "command", ["nvidia-cuda-mps-control", "-f"]],
    [kDaemon, c + "lifecycle.preStop.exec.command.2", "echo quit | nvidia-cuda-mps-control"],
    [kDaemon, s + "volumes.0.hostPath.path", "/run/mpshare/mps/pipe"],
    [kDaemon, c + "volumeMounts.0.mountPath", "/run/mpshare/mps/pipe"],
  ]);
  const env = Object.fromEntries(get(objects.must(kDaemon), c + "env").map((e) => [e.name, e.value]));
  assert.equal(env.NVIDIA_VISIBLE_DEVICES, "all");
  assert.equal(env.CUDA_MPS_PIPE_DIRECTORY, "/run/mpshare/mps/pipe");
  assert.equal(env.CUDA_MPS_LOG_DIRECTORY, "/var/log/mpshare-mps");
  // No default limits on the daemon: they would cap every client (design.md).
  const limits = Object.keys(env).filter((n) => /^CUDA_MPS_(ACTIVE|PINNED)/.test(n));
  assert.deepEqual(limits, [], "the daemon must start without default limits");
});

test("overrides reach every object", () => {
  const objects = render({
    release: "gpu", namespace: "infra",
    set: [
      "webhook.failurePolicy=Ignore", "webhook.timeoutSeconds=5", "webhook.excludeNamespaces={monitoring}",
      "webhook.objectSelector.matchLabels.team=ml", "webhook.tls.mode=certManager",
      "webhook.metrics.serviceMonitor.enabled=true", "extender.mode=deployment", "scheduler.extender.enableHTTPS=true",
      "scheduler.extender.tlsConfig.serverName=gpu-mpshare-extender.infra.svc", "mpsDaemon.enabled=false",
      "gpuResourceNames={example.com/gpu}", "mps.pipeDirectory=/run/x", "nodeAgent.resourceName=example.com/gpu",
    ],
  });
  const mwc = "MutatingWebhookConfiguration/gpu-mpshare-webhook";
  const cert = "Certificate/gpu-mpshare-webhook";
  checkAll(assert, objects, [
    [mwc, "webhooks.0.failurePolicy", "Ignore"],
    [mwc, "webhooks.0.timeoutSeconds", 5],
    [mwc, "webhooks.0.namespaceSelector.matchExpressions.0.values", ["infra", "kube-system", "monitoring"]],
    [mwc, "webhooks.0.objectSelector.matchLabels.team", "ml"],
    [mwc, "webhooks.0.clientConfig.caBundle", undefined],
    [mwc, ["metadata", "annotations", "cert-manager.io/inject-ca-from"], "infra/gpu-mpshare-webhook"],
    [cert, "spec.secretName", "gpu-mpshare-webhook-tls"],
    [cert, "spec.dnsNames.2", "gpu-mpshare-webhook.infra.svc"],
    [cert, "spec.issuerRef.name", "gpu-mpshare-webhook-selfsigned"],
    ["Issuer/gpu-mpshare-webhook-selfsigned", "spec.selfSigned", {}],
    ["ServiceMonitor/gpu-mpshare-webhook", "spec.endpoints.0.port", "metrics"],
    ["Deployment/gpu-mpshare-extender", "spec.replicas", 1],
    ["Deployment/gpu-mpshare-extender", "spec.strategy.type", "Recreate"],
    ["Deployment/gpu-mpshare-extender", "spec.template.spec.containers.0.args.2", "0.0.0.0:8888"],
    ["Deployment/gpu-mpshare-extender", "spec.template.spec.terminationGracePeriodSeconds", 30],
    ["Service/gpu-mpshare-extender", "spec.ports.0.port", 8888],
    ["ClusterRoleBinding/gpu-mpshare-extender", "subjects.0.name", "gpu-mpshare-extender"],
    ["Deployment/gpu-mpshare-scheduler", "spec.template.spec.containers.1", undefined],
  ]);
  for (const absent of ["Secret/gpu-mpshare-webhook-tls", "DaemonSet/gpu-mpshare-mps-daemon"]) {
    assert.ok(!objects.has(absent), `${absent} rendered although turned off`);
  }
  const ext = embedded(objects, "gpu-mpshare-scheduler", kSchedulerConfigKey).extenders[0];
  assert.equal(ext.urlPrefix, "https://gpu-mpshare-extender.infra.svc:8888/scheduler");
  assert.equal(ext.enableHTTPS, true);
  assert.equal(ext.tlsConfig.serverName, "gpu-mpshare-extender.infra.svc");
  assert.deepEqual(ext.managedResources, [{ name: "example.com/gpu", ignoredByScheduler: false }]);
  assert.equal(embedded(objects, "gpu-mpshare-scheduler", kSchedulerConfigKey).leaderElection.resourceNamespace, "infra");
  const wc = embedded(objects, "gpu-mpshare-webhook", "webhook.yaml").webhook;
  assert.deepEqual(wc.gpuResourceNames, ["example.com/gpu"]);
  assert.equal(wc.daemonAccess.pipeDirectory, "/run/x");
});

// The extender plans the pods of the chart's own scheduler unless told another.
test("the extender's policy and the scheduler whose pods it plans", () => {
  const plan = (opts) => embedded(render(opts), "mpshare-extender", "extender.yaml").extender;
  const defaults = plan();
  assert.equal(defaults.policy, "fgd-plus-batch");
  assert.deepEqual(defaults.plan,
    { schedulerName: "mpshare-scheduler", batchSize: 16, orders: 4, settleMilliseconds: 10, ttlSeconds: 60 });
  assert.equal(plan({ set: ["scheduler.name=gpu-scheduler"] }).plan.schedulerName, "gpu-scheduler");
  const own = plan({ set: ["scheduler.name=gpu-scheduler", "extender.config.plan.schedulerName=batch.example.com",
    "extender.config.plan.batchSize=64"] }).plan;
  assert.equal(own.schedulerName, "batch.example.com");
  assert.equal(own.batchSize, 64);
  assert.equal(own.orders, 4);
});

// The extender's --shutdown-delay follows extender.shutdownDelaySeconds in either
// mode, and the pod's grace period grows with it, so the drain is never cut short.
test("the extender's shutdown delay and its grace period", () => {
  for (const mode of ["sidecar", "deployment"]) {
    for (const [delay, grace] of [["0", 25], ["12", 37], ["300", 325]]) {
      const objects = render({ set: [`extender.mode=${mode}`, `extender.shutdownDelaySeconds=${delay}`] });
      const [pod, container] = mode === "sidecar" ? [kSchedDp, 1] : ["Deployment/mpshare-extender", 0];
      const args = get(objects.must(pod), `spec.template.spec.containers.${container}.args`);
      assert.deepEqual(args.slice(args.indexOf("--shutdown-delay")), ["--shutdown-delay", delay], `${mode} ${delay}`);
      assert.equal(get(objects.must(pod), "spec.template.spec.terminationGracePeriodSeconds"), grace, `${mode} ${delay}`);
    }
  }
  // A scheduler without the sidecar keeps the default grace period.
  assert.equal(get(render({ set: ["extender.mode=deployment"] }).must(kSchedDp),
    "spec.template.spec.terminationGracePeriodSeconds"), undefined);
});

// The MPS daemon uses host IPC and hostPath volumes and the node agent is
// privileged, refused below Pod Security "privileged"; a namespace the chart
// creates must allow them, and relaxes nothing without them.
test("a created namespace admits the MPS daemon and the node agent", () => {
  const enforce = (set) => get(render({ set: ["createNamespace=true", ...set] }).must("Namespace/mpshare"),
    ["metadata", "labels", "pod-security.kubernetes.io/enforce"]);
  assert.equal(enforce([]), "privileged");
  assert.equal(enforce(["nodeAgent.enabled=false"]), "privileged");
  assert.equal(enforce(["mpsDaemon.enabled=false"]), "privileged");
  assert.equal(enforce(["mpsDaemon.enabled=false", "nodeAgent.enabled=false"]), undefined);
});
