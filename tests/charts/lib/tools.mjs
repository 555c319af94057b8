// Where the chart tests find helm and the npm packages that ./build.sh installs into
// .tools/ (git-ignored). CTest passes MPSHARE_HELM and MPSHARE_NPM_DIR; run by hand,
// the same .tools/ paths are the defaults.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
// MPSHARE_CHART_DIR: test a copy of the chart (e.g. one with a deliberate fault).
export const chartDir = process.env.MPSHARE_CHART_DIR || join(repoRoot, "charts", "mpshare");
export const helmPath = process.env.MPSHARE_HELM || join(repoRoot, ".tools", "bin", "helm");
export const npmDir = process.env.MPSHARE_NPM_DIR || join(repoRoot, ".tools", "npm");

// Exits 77 (CTest's "skipped") when helm or the npm packages are missing, naming
// what to run; under CI (CI=true) that is a failure instead, so a broken install
// never passes as a skip.
export function requireTools() {
  const missing = [];
  if (!existsSync(helmPath)) missing.push(`helm (${helmPath})`);
  for (const pkg of ["yaml", "kubernetes-models"]) {
    if (!existsSync(join(npmDir, "node_modules", pkg, "package.json"))) {
      missing.push(`npm package ${pkg} (in ${npmDir})`);
    }
  }
  if (missing.length === 0) return;
  const ci = process.env.CI === "true";
  console.error(`${ci ? "FAIL" : "SKIP"}: missing ${missing.join(", ")}; ./build.sh build installs them`);
  process.exit(ci ? 1 : 77);
}

// The file an ESM package exports for `subpath` ("." or "./apps/v1"), read from its
// package.json "exports" (exact keys and "./dir/*" patterns). The packages live
// outside this folder's node_modules lookup, so they are imported by file URL.
function exportedFile(pkgDir, subpath) {
  const manifest = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
  const exportsMap = typeof manifest.exports === "string" ? { ".": manifest.exports } : manifest.exports;
  let target = exportsMap?.[subpath];
  if (target === undefined) {
    for (const [key, value] of Object.entries(exportsMap ?? {})) {
      const star = key.indexOf("*");
      if (star >= 0 && subpath.startsWith(key.slice(0, star)) && subpath.endsWith(key.slice(star + 1))) {
        const middle = subpath.slice(star, subpath.length - (key.length - star - 1));
        target = JSON.parse(JSON.stringify(value).replaceAll("*", middle));
        break;
      }
    }
  }
  while (target && typeof target === "object") target = target.import ?? target.node ?? target.default;
  return target ? join(pkgDir, target) : null;
}

// import() of an installed package by specifier, e.g. "kubernetes-models/apps/v1";
// null when the package does not export that path.
export async function importPackage(specifier) {
  const parts = specifier.split("/");
  const nameLength = specifier.startsWith("@") ? 2 : 1;
  const pkgDir = join(npmDir, "node_modules", ...parts.slice(0, nameLength));
  const rest = parts.slice(nameLength).join("/");
  const file = exportedFile(pkgDir, rest ? `./${rest}` : ".");
  return file && existsSync(file) ? import(pathToFileURL(file).href) : null;
}
