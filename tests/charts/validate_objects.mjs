#!/usr/bin/env node
// Validates every Kubernetes object in YAML files (or stdin) against the API schemas,
// as the chart tests do:
//   helm template mpshare charts/mpshare | node tests/charts/validate_objects.mjs
//   node tests/charts/validate_objects.mjs manifests/install/*.yaml
// Prints a count per schema package; exits 1 naming the object and the error.
import { readFileSync } from "node:fs";
import { parseDocuments, stringifyYaml } from "./lib/helm.mjs";
import { requireTools } from "./lib/tools.mjs";
import { validateObject } from "./lib/validate.mjs";

requireTools();
const inputs = process.argv.length > 2 ? process.argv.slice(2) : ["/dev/stdin"];
const counts = {};
let failed = 0;
for (const file of inputs) {
  for (const { source, object } of parseDocuments(readFileSync(file, "utf8"))) {
    try {
      const by = await validateObject(object);
      counts[by] = (counts[by] ?? 0) + 1;
    } catch (err) {
      failed++;
      console.error(`${file} (${source}): ${err.message}\n${stringifyYaml(object)}`);
    }
  }
}
const summary = Object.entries(counts).map(([by, n]) => `${n} by ${by}`).join(", ");
console.log(`${failed === 0 ? "valid" : `${failed} invalid`}: ${summary || "no objects"}`);
process.exit(failed === 0 ? 0 : 1);
