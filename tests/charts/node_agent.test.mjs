// The node agent (mpshare-node): its DaemonSet, RBAC and overrides, and how turning
// it on or off switches the mps-daemon DaemonSet and the webhook's pipe.
import assert from "node:assert/strict";
import { test } from "node:test";
import { render } from "./lib/helm.mjs";
import { checkAll, embedded, findByName, flagValue, get } from "./lib/objects.mjs";
import { requireTools } from "./lib/tools.mjs";

requireTools();

const kAgent = "DaemonSet/mpshare-node";
const kDaemon = "DaemonSet/mpshare-mps-daemon";
const s = "spec.template.spec.";
const c = s + "containers.0.";

// Each hostPath volume of a pod template: name -> { path, type }.
const hostPaths = (ds) => Object.fromEntries((get(ds, s + "volumes") ?? [])
  .filter((v) => v.hostPath).map((v) => [v.name, v.hostPath]));
// Each mount of the first container: mountPath -> mount.
const mountsByPath = (ds) => Object.fromEntries((get(ds, c + "volumeMounts") ?? []).map((m) => [m.mountPath, m]));

test("node agent DaemonSet", () => {
  const objects = render();
  const ds = objects.must(kAgent);
  checkAll(assert, objects, [
    [kAgent, s + "nodeSelector", { "mpshare.io/mps": "enabled" }],
    [kAgent, s + "hostIPC", true],
    // Per-pod usage traces NVML's host PIDs to their pods (nodeAgent.usage.enabled).
    [kAgent, s + "hostPID", true],
    [kAgent, s + "hostNetwork", undefined],
    [kAgent, s + "serviceAccountName", "mpshare-node"],
    [kAgent, s + "priorityClassName", "system-node-critical"],
    [kAgent, s + "runtimeClassName", undefined],
    [kAgent, s + "tolerations.0.key", "nvidia.com/gpu"],
    // Replacing the agent ends its MPS daemons: never by itself on upgrade.
    [kAgent, "spec.updateStrategy", { type: "OnDelete" }],
    [kAgent, c + "securityContext.privileged", true],
    [kAgent, c + "image", "ghcr.io/mpshare/mpshare-node:0.1.0"],
    [kAgent, c + "command", ["mpshare-node"]],
    [kAgent, c + "args.0", "serve"],
    [kAgent, c + "ports.0.name", "metrics"],
    [kAgent, c + "ports.0.containerPort", 9400],
    [kAgent, c + "livenessProbe.httpGet", { path: "/healthz", port: "metrics", scheme: "HTTP" }],
    [kAgent, c + "readinessProbe.httpGet", { path: "/healthz", port: "metrics", scheme: "HTTP" }],
  ]);
  const args = get(ds, c + "args");
  for (const [flag, want] of Object.entries({
    "--node-name": "$(NODE_NAME)",
    "--device-plugin-dir": "/var/lib/kubelet/device-plugins/",
    "--pod-resources-socket": "/var/lib/kubelet/pod-resources/kubelet.sock",
    "--cdi-dir": "/var/run/cdi",
    "--nvidia-cdi-spec": "/var/run/cdi/nvidia.yaml",
    "--mps-root": "/run/mpshare/mps",
    "--resource-name": "nvidia.com/gpu.shared",
    "--clients-per-gpu": "48",
    "--metrics-listen": "0.0.0.0:9400",
    "--usage-seconds": "15",
    "--kubeconfig": undefined, // in-cluster service account
  })) {
    assert.equal(flagValue(args, flag), want, `mpshare-node ${flag}`);
  }
  const env = get(ds, c + "env");
  assert.equal(get(findByName(env, "NODE_NAME"), "valueFrom.fieldRef.fieldPath"), "spec.nodeName");
  assert.equal(findByName(env, "NVIDIA_VISIBLE_DEVICES")?.value, "all");
  assert.equal(findByName(env, "NVIDIA_DRIVER_CAPABILITIES")?.value, "compute,utility");

  // Every host path at the same path in the container: the CDI specs the agent
  // writes name host paths, and the kubelet finds the agent's socket where it put it.
  const volumes = hostPaths(ds);
  const mounts = mountsByPath(ds);
  for (const [dir, type] of Object.entries({
    "/var/lib/kubelet/device-plugins": "Directory",
    "/var/lib/kubelet/pod-resources": "Directory", // the directory: the socket is re-created on kubelet restart
    "/var/run/cdi": "DirectoryOrCreate",
    "/run/mpshare/mps": "DirectoryOrCreate",
  })) {
    assert.ok(mounts[dir], `the agent does not mount ${dir}`);
    assert.deepEqual(volumes[mounts[dir].name], { path: dir, type }, `mount ${dir}`);
  }
  assert.equal(Object.keys(mounts).length, 4, "the agent mounts 4 paths");
  assert.equal(Object.keys(volumes).length, 4, "from 4 hostPath volumes");
  assert.equal(mounts["/var/lib/kubelet/pod-resources"].readOnly, true);
});

test("node agent RBAC grants only what it uses", () => {
  const objects = render();
  const granted = {}; // "group/resource" -> verbs
  for (const rule of get(objects.must("ClusterRole/mpshare-node"), "rules")) {
    for (const group of rule.apiGroups) {
      for (const resource of rule.resources) (granted[`${group}/${resource}`] ??= []).push(...rule.verbs);
    }
  }
  assert.deepEqual(granted, {
    "/pods": ["get", "list", "watch", "patch"],
    "/nodes": ["get", "patch"],
    "/events": ["create"],
    "events.k8s.io/events": ["create"],
  });
  checkAll(assert, objects, [
    ["ClusterRoleBinding/mpshare-node", "roleRef.name", "mpshare-node"],
    ["ClusterRoleBinding/mpshare-node", "subjects", [{ kind: "ServiceAccount", name: "mpshare-node", namespace: "mpshare" }]],
    ["ServiceAccount/mpshare-node", "metadata.namespace", "mpshare"],
  ]);
});

test("node agent overrides", () => {
  const objects = render({
    set: ["nodeAgent.runtimeClassName=nvidia", "nodeAgent.kubeletRootDir=/var/lib/k0s/kubelet/",
      "nodeAgent.nvidiaCdiSpec=/etc/cdi/nvidia.yaml", "nodeAgent.clientsPerGpu=8", "nodeAgent.metricsPort=9500",
      "nodeAgent.image.repository=registry.example.com/mpshare-node", "nodeAgent.image.tag=dev",
      "managedNodeSelector.gpu=a100", "nodeAgent.priorityClassName="],
    values: [{ nodeAgent: { extraArgs: ["--inventory", "/etc/mpshare/gpus.yaml"] } }],
  });
  const ds = objects.must(kAgent);
  checkAll(assert, objects, [
    [kAgent, s + "runtimeClassName", "nvidia"],
    [kAgent, s + "priorityClassName", undefined],
    [kAgent, s + "nodeSelector", { gpu: "a100", "mpshare.io/mps": "enabled" }],
    [kAgent, c + "image", "registry.example.com/mpshare-node:dev"],
    [kAgent, c + "ports.0.containerPort", 9500],
  ]);
  const args = get(ds, c + "args");
  for (const [flag, want] of Object.entries({
    "--device-plugin-dir": "/var/lib/k0s/kubelet/device-plugins/",
    "--pod-resources-socket": "/var/lib/k0s/kubelet/pod-resources/kubelet.sock",
    "--nvidia-cdi-spec": "/etc/cdi/nvidia.yaml",
    "--clients-per-gpu": "8",
    "--metrics-listen": "0.0.0.0:9500",
    "--inventory": "/etc/mpshare/gpus.yaml",
  })) {
    assert.equal(flagValue(args, flag), want, `mpshare-node ${flag}`);
  }
  // A spec outside the CDI directory is mounted too, read-only.
  const mount = mountsByPath(ds)["/etc/cdi"];
  assert.equal(mount?.readOnly, true, "the NVIDIA CDI spec's directory /etc/cdi is mounted read-only");
  assert.equal(hostPaths(ds)[mount.name]?.path, "/etc/cdi");
});

// The agent replaces the mps-daemon DaemonSet, and the webhook leaves the pipe to
// the agent's CDI edits; without the agent, both are as before.
test("the node agent switches the MPS daemon and the webhook's pipe", () => {
  const cases = [
    // [set, agent, daemon, webhook daemonAccess.pipe]
    [[], true, false, false],
    [["nodeAgent.enabled=false"], false, true, undefined],
    [["nodeAgent.enabled=false", "mpsDaemon.enabled=false"], false, false, undefined],
    // Migration: the old daemon kept beside the agent for the pods started before.
    [["mpsDaemon.keepBesideNodeAgent=true"], true, true, false],
    [["mpsDaemon.keepBesideNodeAgent=true", "mpsDaemon.enabled=false"], true, false, false],
  ];
  for (const [set, agent, daemon, pipe] of cases) {
    const objects = render({ set });
    const what = `--set ${set.join(",") || "(none)"}`;
    assert.equal(objects.has(kAgent), agent, `${what}: node agent`);
    assert.equal(objects.has("ClusterRole/mpshare-node"), agent, `${what}: node agent ClusterRole`);
    assert.equal(objects.has(kDaemon), daemon, `${what}: mps-daemon`);
    const access = embedded(objects, "mpshare-webhook", "webhook.yaml").webhook.daemonAccess;
    assert.equal(access.pipe, pipe, `${what}: webhook daemonAccess.pipe`);
    assert.equal(access.inject, true, `${what}: webhook daemonAccess.inject`);
  }
});

// During the migration the kept mps-daemon DaemonSet must be exactly the one that
// ran before, or the upgrade would roll it and end the running pods' servers.
test("the kept mps-daemon is unchanged", () => {
  const before = render({ set: ["nodeAgent.enabled=false"] }).must(kDaemon);
  const kept = render({ set: ["mpsDaemon.keepBesideNodeAgent=true"] }).must(kDaemon);
  assert.deepEqual(kept, before);
});

// The extender and the webhook must count the agent's resource as a GPU request.
test("the agent's resource is a GPU resource everywhere", () => {
  const objects = render();
  const resource = flagValue(get(objects.must(kAgent), c + "args"), "--resource-name");
  assert.ok(embedded(objects, "mpshare-extender", "extender.yaml").extender.gpuResourceNames.includes(resource));
  assert.ok(embedded(objects, "mpshare-webhook", "webhook.yaml").webhook.gpuResourceNames.includes(resource));
  const managed = embedded(objects, "mpshare-scheduler", "kube-scheduler-config.yaml").extenders[0].managedResources;
  assert.ok(findByName(managed, resource), `the scheduler's managedResources lack ${resource}`);
});

test("node agent without per-pod usage: no host PID namespace, sampling off", () => {
  const ds = render({ set: ["nodeAgent.usage.enabled=false"] }).must(kAgent);
  assert.equal(get(ds, s + "hostPID"), false);
  assert.equal(flagValue(get(ds, c + "args"), "--usage-seconds"), "0");
});
