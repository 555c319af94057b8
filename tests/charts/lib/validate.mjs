// Validates rendered objects against the Kubernetes API schemas: kubernetes-models
// for the built-in kinds, its CRD packages for prometheus-operator and cert-manager
// objects. `new Kind(obj).validate()` refuses wrong types, unknown enum values and
// missing required fields, as the API server would.
import { importPackage } from "./tools.mjs";

// Searched in order for apiVersion's group/version and the kind's class.
const kModelPackages = ["kubernetes-models", "@kubernetes-models/prometheus-operator", "@kubernetes-models/cert-manager"];

const modelCache = new Map();

// { Model, from } for apiVersion + kind, or null when no package knows the kind.
export async function modelFor(apiVersion, kind) {
  const key = `${apiVersion}/${kind}`;
  if (!modelCache.has(key)) {
    let found = null;
    for (const pkg of kModelPackages) {
      const mod = await importPackage(`${pkg}/${apiVersion}`).catch(() => null);
      if (mod && typeof mod[kind] === "function") {
        found = { Model: mod[kind], from: pkg };
        break;
      }
    }
    modelCache.set(key, found);
  }
  return modelCache.get(key);
}

const kApiVersion = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?v[0-9]+((alpha|beta)[0-9]+)?$/;
const kKind = /^[A-Z][A-Za-z0-9]*$/;

// What is checked of a kind no package knows (a custom resource): apiVersion and
// kind well formed, and metadata against ObjectMeta's schema.
async function validateStructure(obj) {
  if (typeof obj.apiVersion !== "string" || !kApiVersion.test(obj.apiVersion)) {
    throw new Error(`apiVersion must be [group/]version, got ${JSON.stringify(obj.apiVersion)}`);
  }
  if (typeof obj.kind !== "string" || !kKind.test(obj.kind)) {
    throw new Error(`kind must be a CamelCase name, got ${JSON.stringify(obj.kind)}`);
  }
  const { ObjectMeta } = await importPackage("@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta");
  if (typeof obj.metadata?.name !== "string" || obj.metadata.name === "") {
    throw new Error("metadata.name is required");
  }
  new ObjectMeta(obj.metadata).validate();
}

// Validates one object; returns the package whose schema checked it, or
// "structure only" for a custom resource none knows. Throws an Error naming the
// object.
export async function validateObject(obj) {
  const name = `${obj?.kind}/${obj?.metadata?.name} (${obj?.apiVersion})`;
  try {
    const model = obj && typeof obj === "object" ? await modelFor(obj.apiVersion, obj.kind) : null;
    if (model) {
      new model.Model(obj).validate();
      return model.from;
    }
    // A built-in group (core, apps, *.k8s.io) is all in kubernetes-models: a typo
    // in apiVersion or kind must not pass as an unknown custom resource.
    const group = String(obj?.apiVersion ?? "").split("/").slice(0, -1).join("/");
    if (!group.includes(".") || group.endsWith(".k8s.io")) {
      throw new Error(`the Kubernetes API has no kind ${obj?.kind} in ${obj?.apiVersion}`);
    }
    await validateStructure(obj);
    return "structure only";
  } catch (err) {
    throw new Error(`${name}: ${err.message}`);
  }
}
