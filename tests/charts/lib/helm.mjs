// Runs the real helm (template, lint) on charts/mpshare and reads what it renders.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chartDir, helmPath, importPackage, repoRoot } from "./tools.mjs";

const YAML = await importPackage("yaml");

// Options shared by template and lint:
//   set: ["a.b=v", ...] passed as --set, exactly as a user types them;
//   values: [{...}, ...] each written to a values file passed with -f, in order
//     (typed values: lists, maps, numbers, null);
//   valueFiles: ["manifests/install-values.yaml", ...] passed with -f first, relative
//     to the repository;
//   release, namespace: the release (both "mpshare" unless given);
//   kubeVersion: --kube-version; apiVersions: --api-versions.
function commonArgs(opts, dir) {
  const args = (opts.valueFiles ?? []).flatMap((f) => ["-f", join(repoRoot, f)]);
  (opts.values ?? []).forEach((values, i) => {
    const file = join(dir, `values-${i}.yaml`);
    writeFileSync(file, YAML.stringify(values));
    args.push("-f", file);
  });
  for (const s of opts.set ?? []) args.push("--set", s);
  if (opts.kubeVersion) args.push("--kube-version", opts.kubeVersion);
  return args;
}

// Runs helm with the arguments build(common arguments) returns, with a private helm
// home, so no user's configuration or repositories take part.
function run(opts, build) {
  const dir = mkdtempSync(join(tmpdir(), "mpshare-chart-"));
  try {
    const full = build(commonArgs(opts, dir));
    const r = spawnSync(helmPath, full, {
      encoding: "utf8",
      maxBuffer: 64 << 20,
      env: { ...process.env, HELM_CONFIG_HOME: dir, HELM_CACHE_HOME: dir, HELM_DATA_HOME: dir },
    });
    if (r.error) throw r.error;
    return { ok: r.status === 0, stdout: r.stdout, stderr: r.stderr, command: `helm ${full.join(" ")}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// `helm template`: { ok, stdout, stderr, command }.
export function helmTemplate(opts = {}) {
  return run(opts, (common) => [
    "template", opts.release ?? "mpshare", chartDir, "--namespace", opts.namespace ?? "mpshare",
    ...(opts.apiVersions ?? []).flatMap((v) => ["--api-versions", v]),
    ...(opts.outputDir ? ["--output-dir", opts.outputDir] : []),
    ...common,
  ]);
}

// `helm lint --strict`: { ok, stdout, stderr, command }.
export function helmLint(opts = {}) {
  return run(opts, (common) => [
    "lint", "--strict", chartDir, "--namespace", opts.namespace ?? "mpshare", ...common,
  ]);
}

// Splits helm's output into documents: [{ source: "templates/x.yaml", object }].
// Empty documents are dropped; a document that is not an object fails.
export function parseDocuments(text) {
  const docs = [];
  for (const [i, doc] of YAML.parseAllDocuments(text).entries()) {
    if (doc.errors.length > 0) throw new Error(`helm rendered invalid YAML: ${doc.errors[0].message}\n${doc}`);
    const object = doc.toJS();
    if (object === null || object === undefined) continue;
    const comment = `${doc.commentBefore ?? ""}\n${doc.contents?.commentBefore ?? ""}`;
    const source = /Source: [^/\s]+\/(\S+)/.exec(comment)?.[1] ?? `document ${i + 1}`;
    docs.push({ source, object });
  }
  return docs;
}

export const parseYaml = (text) => YAML.parse(text);
export const stringifyYaml = (value) => YAML.stringify(value);

// A render's objects keyed "Kind/name".
export class Objects extends Map {
  // The object at key, failing the test with the keys there are when it is absent.
  must(key) {
    if (!this.has(key)) throw new Error(`no ${key} in the render; have ${[...this.keys()].sort().join(", ")}`);
    return this.get(key);
  }
}

// Renders with helm and returns the Objects; throws with helm's error when it refuses.
export function render(opts = {}) {
  const r = helmTemplate(opts);
  if (!r.ok) throw new Error(`${r.command} failed:\n${r.stderr}`);
  const objects = new Objects();
  for (const { source, object } of parseDocuments(r.stdout)) {
    const key = `${object.kind}/${object.metadata?.name}`;
    if (objects.has(key)) throw new Error(`${key} rendered twice (${source})`);
    objects.set(key, object);
  }
  return objects;
}

// helm's error for values it must refuse; throws when the values render.
export function refusal(opts) {
  const r = helmTemplate(opts);
  if (r.ok) throw new Error(`${r.command} rendered; want a refusal`);
  return r.stderr;
}
