// The value combinations the chart is linted, rendered and schema-checked with: each
// TLS mode of the webhook and the extender, the extender over HTTPS, both placement
// policies, the node agent on and off (and beside the old MPS daemon), the capped
// mode, the oldest Kubernetes supported, and "everything on". Each is { name, set?, values?, valueFiles?,
// apiVersions? } as lib/helm.mjs takes them.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { chartDir } from "./tools.mjs";

// Every boolean value named `enabled` in values.schema.json, set true: whatever a
// later chart version adds behind such a switch (monitoring, dashboards, alert
// rules) is rendered and checked without editing this list.
export function everyEnabledSwitch() {
  const schema = JSON.parse(readFileSync(join(chartDir, "values.schema.json"), "utf8"));
  const values = {};
  const walk = (node, path) => {
    for (const [key, child] of Object.entries(node?.properties ?? {})) {
      if (key === "enabled" && child.type === "boolean") {
        let at = values;
        for (const p of path) at = at[p] ??= {};
        at.enabled = true;
      }
      walk(child, [...path, key]);
    }
  };
  walk(schema, []);
  return values;
}

export const kCombos = [
  { name: "defaults" },
  // The oldest cluster Chart.yaml's kubeVersion allows: lint's deprecation checks
  // and the render for it.
  { name: "defaults on Kubernetes 1.25", kubeVersion: "v1.25.0" },
  { name: "plain manifests", valueFiles: ["manifests/install-values.yaml"] },
  { name: "webhook certManager, all namespaces", set: ["webhook.tls.mode=certManager", "webhook.namespaceSelection=all"] },
  {
    name: "webhook certManager with an issuer",
    set: ["webhook.tls.mode=certManager", "webhook.tls.certManager.issuerRef.kind=ClusterIssuer",
      "webhook.tls.certManager.issuerRef.name=my-ca"],
  },
  { name: "extender deployment, plain HTTP, spread", set: ["extender.mode=deployment", "extender.config.policy=spread"] },
  { name: "extender HTTPS, helm certificate", set: ["extender.mode=deployment", "scheduler.extender.enableHTTPS=true"] },
  {
    name: "extender HTTPS, cert-manager",
    set: ["extender.mode=deployment", "scheduler.extender.enableHTTPS=true", "extender.tls.mode=certManager"],
  },
  {
    name: "extender HTTPS, cert-manager with an issuer",
    set: ["extender.mode=deployment", "scheduler.extender.enableHTTPS=true", "extender.tls.mode=certManager",
      "extender.tls.certManager.issuerRef.kind=ClusterIssuer", "extender.tls.certManager.issuerRef.name=my-ca"],
  },
  {
    name: "extender HTTPS, the user's CA",
    set: ["extender.mode=deployment", "scheduler.extender.enableHTTPS=true", "scheduler.extender.tlsConfig.caData=Zm9v"],
  },
  { name: "node agent off (mps-daemon)", set: ["nodeAgent.enabled=false", "createNamespace=true"] },
  { name: "node agent beside the kept mps-daemon", set: ["mpsDaemon.keepBesideNodeAgent=true"] },
  {
    name: "capped mode under the device plugin's MPS daemon",
    set: ["nodeAgent.enabled=false", "mpsDaemon.enabled=false", "webhook.config.daemonAccess.inject=false"],
  },
  { name: "webhook only", set: ["scheduler.enabled=false", "nodeAgent.enabled=false", "mpsDaemon.enabled=false"] },
  {
    name: "everything on",
    // Templates that render a custom resource only where the cluster serves it.
    apiVersions: ["monitoring.coreos.com/v1", "cert-manager.io/v1"],
    values: [everyEnabledSwitch(), {
      createNamespace: true,
      mpsDaemon: { keepBesideNodeAgent: true },
      extender: { mode: "deployment" },
      scheduler: { extender: { enableHTTPS: true } },
    }],
  },
];
