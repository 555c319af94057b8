// Reading rendered objects in the chart tests.
import { X509Certificate } from "node:crypto";
import { parseYaml } from "./helm.mjs";

// The value at a dotted path ("spec.template.spec.containers.0.image"); a numeric
// segment indexes a list. A path given as an array keeps dots inside keys
// (["metadata", "labels", "mpshare.io/mps"]). undefined when absent.
export function get(value, path) {
  const segments = Array.isArray(path) ? path : path.split(".");
  for (const seg of segments) {
    if (value === null || typeof value !== "object") return undefined;
    value = value[Array.isArray(value) ? Number(seg) : seg];
  }
  return value;
}

// The item of a list whose name is `name` (containers, env, volumes...).
export const findByName = (list, name) => (list ?? []).find((item) => item?.name === name);

// The word after `flag` in an argument list; undefined when the flag is absent.
export function flagValue(args, flag) {
  const i = (args ?? []).indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

// A YAML file carried in a ConfigMap's data, parsed.
export function embedded(objects, configMap, key) {
  const text = get(objects.must(`ConfigMap/${configMap}`), ["data", key]);
  if (typeof text !== "string") throw new Error(`ConfigMap/${configMap} has no data key ${key}`);
  return parseYaml(text);
}

// PEM text of a Secret's data key (base64 in the object).
export function secretPem(objects, secret, key) {
  const b64 = get(objects.must(secret), ["data", key]);
  const text = Buffer.from(b64 ?? "", "base64").toString("utf8");
  if (!text.includes("-----BEGIN")) throw new Error(`${secret} data.${key} is not base64 PEM`);
  return text;
}

// Whether certPem is signed by caPem and valid for the DNS name a client dials.
export function verifiesFor(caPem, certPem, dnsName) {
  const ca = new X509Certificate(caPem);
  const cert = new X509Certificate(certPem);
  const problems = [];
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) problems.push("not signed by the CA");
  if (cert.checkHost(dnsName, { subject: "never" }) === undefined) problems.push(`not valid for ${dnsName}`);
  const now = Date.now();
  if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) problems.push("not valid now");
  return problems;
}

// Whether a LabelSelector (matchLabels; matchExpressions with In, NotIn, Exists,
// DoesNotExist) selects an object with these labels, as the API server evaluates a
// webhook's namespaceSelector.
export function selects(selector, labels) {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[k] !== String(v)) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, key);
    const inValues = has && values.map(String).includes(labels[key]);
    switch (operator) {
      case "In": if (!inValues) return false; break;
      case "NotIn": if (inValues) return false; break;
      case "Exists": if (!has) return false; break;
      case "DoesNotExist": if (has) return false; break;
      default: throw new Error(`unknown selector operator ${operator}`);
    }
  }
  return true;
}

// The labels the API server gives a namespace: its name as
// kubernetes.io/metadata.name, plus "key=value" extras.
export function namespaceLabels(name, ...extra) {
  const labels = { "kubernetes.io/metadata.name": name };
  for (const kv of extra) {
    const eq = kv.indexOf("=");
    labels[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return labels;
}

// Asserts each [objectKey, path, want] with deepStrictEqual; want undefined = absent.
export function checkAll(assert, objects, checks) {
  for (const [key, path, want] of checks) {
    assert.deepStrictEqual(get(objects.must(key), path), want, `${key} ${path}`);
  }
}
