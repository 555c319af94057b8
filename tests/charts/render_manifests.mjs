// The plain manifests committed under manifests/ are `helm template` of the chart
// with manifests/install-values.yaml. manifests/install/ is applied whole (kubectl
// apply -f DIR), so it holds nothing but objects, in files whose name order is a
// valid apply order. The MutatingWebhookConfiguration lives only in
// manifests/webhook/: applied with the rest, it would refuse pod creation
// cluster-wide until the webhook answers. The scheduler's configuration is also
// kept as a plain file for kube-scheduler --config.
//   node tests/charts/render_manifests.mjs [--check]   (render-manifests.sh runs it)
import { mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { helmTemplate, parseYaml } from "./lib/helm.mjs";
import { repoRoot, requireTools } from "./lib/tools.mjs";

export const kInstallDir = "manifests/install";
const kValues = "manifests/install-values.yaml";
const kWebhookTemplate = "webhook-mutatingwebhookconfiguration.yaml";
const kWebhookReference = "manifests/webhook/mutating-webhook-configuration.yaml";
const kSchedulerTemplate = "scheduler-configmap.yaml";
const kSchedulerConfig = "manifests/scheduler/kube-scheduler-config.yaml";
const kSchedulerDataKey = "kube-scheduler-config.yaml";
// kubectl applies a folder's files in name order; the namespace comes first.
const kRenamed = { "namespace.yaml": "00-namespace.yaml" };
const kHeader = "# Generated from charts/mpshare with manifests/install-values.yaml by\n" +
  "# tests/charts/render-manifests.sh (helm template). Edit the chart, not this file.\n";

// path relative to the repository -> content, for every generated file.
export function plainManifests() {
  const out = mkdtempSync(join(tmpdir(), "mpshare-manifests-"));
  try {
    const r = helmTemplate({ valueFiles: [kValues], outputDir: out });
    if (!r.ok) throw new Error(`${r.command} failed:\n${r.stderr}`);
    const templates = join(out, "mpshare", "templates");
    const files = {};
    for (const name of readdirSync(templates).sort()) {
      // Each document as helm wrote it, less its "# Source:" line (the header says it).
      const docs = readFileSync(join(templates, name), "utf8").split(/^---\n/m)
        .map((d) => d.replace(/^# Source: .*\n/, "")).filter((d) => d.trim() !== "");
      const content = kHeader + docs.map((d) => d.replace(/\n*$/, "\n")).join("---\n");
      if (name === kWebhookTemplate) {
        files[kWebhookReference] = content;
        continue;
      }
      files[join(kInstallDir, kRenamed[name] ?? name)] = content;
      if (name === kSchedulerTemplate) {
        const config = parseYaml(docs[0])?.data?.[kSchedulerDataKey];
        if (typeof config !== "string") throw new Error(`${name} has no data key ${kSchedulerDataKey}`);
        files[kSchedulerConfig] = kHeader + config;
      }
    }
    for (const want of [kWebhookReference, kSchedulerConfig]) {
      if (!files[want]) throw new Error(`${kValues} rendered no ${want}`);
    }
    return files;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

// Differences between the committed files and a fresh render, one line each.
export function staleManifests(files = plainManifests()) {
  const stale = [];
  for (const [rel, want] of Object.entries(files)) {
    const path = join(repoRoot, rel);
    if (!existsSync(path)) stale.push(`${rel} is missing`);
    else if (readFileSync(path, "utf8") !== want) stale.push(`${rel} differs from the chart's render`);
  }
  for (const name of readdirSync(join(repoRoot, kInstallDir))) {
    if (!files[join(kInstallDir, name)]) stale.push(`${kInstallDir}/${name} is no longer rendered by the chart`);
  }
  return stale;
}

function write(files) {
  for (const name of readdirSync(join(repoRoot, kInstallDir))) {
    if (/\.(yaml|yml|json)$/.test(name)) unlinkSync(join(repoRoot, kInstallDir, name));
  }
  for (const [rel, content] of Object.entries(files)) writeFileSync(join(repoRoot, rel), content);
}

if (process.argv[1] && basename(process.argv[1]) === basename(fileURLToPath(import.meta.url))) {
  requireTools();
  const files = plainManifests();
  if (process.argv.includes("--check")) {
    const stale = staleManifests(files);
    for (const line of stale) console.error(line);
    if (stale.length > 0) {
      console.error("regenerate with: tests/charts/render-manifests.sh");
      process.exit(1);
    }
    console.log(`${Object.keys(files).length} generated manifests are up to date`);
  } else {
    write(files);
    console.log(`wrote ${Object.keys(files).length} files under manifests/`);
  }
}
