// The scheduler calls the extender over HTTPS (extender.mode: deployment): it dials a
// name the extender's certificate carries and trusts the CA that signed it, for
// each way the certificate comes (Helm, cert-manager, the user's CA).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { posix as path } from "node:path";
import { test } from "node:test";
import { render } from "./lib/helm.mjs";
import { checkAll, embedded, findByName, get, secretPem, verifiesFor } from "./lib/objects.mjs";
import { requireTools } from "./lib/tools.mjs";

requireTools();

const kExtDp = "Deployment/mpshare-extender";
const kSchedDp = "Deployment/mpshare-scheduler";
const kExtSecret = "Secret/mpshare-extender-tls";
const kExtCert = "Certificate/mpshare-extender";
const kExtCA = "Certificate/mpshare-extender-ca";
const kHTTPS = ["extender.mode=deployment", "scheduler.extender.enableHTTPS=true"];

const schedulerExtender = (objects) => embedded(objects, "mpshare-scheduler", "kube-scheduler-config.yaml").extenders[0];

// Follows the scheduler's tlsConfig.caFile to the Secret key mounted there, the way
// the kubelet lays it out: ["Secret/name", key].
function trustedCA(objects, caFile) {
  const spec = get(objects.must(kSchedDp), "spec.template.spec");
  const scheduler = findByName(spec.containers, "kube-scheduler");
  const mount = (scheduler.volumeMounts ?? []).find((m) => m.mountPath === path.dirname(caFile));
  assert.ok(mount, `no volume of kube-scheduler is mounted at the directory of caFile ${caFile}`);
  const volume = findByName(spec.volumes, mount.name);
  assert.ok(volume?.secret, `${mount.mountPath} is not mounted from a Secret`);
  const items = volume.secret.items ?? [];
  assert.equal(items.length, 1, "the scheduler mounts the extender Secret's ca.crt alone");
  assert.equal(items[0].path, path.basename(caFile), "caFile is the mounted item");
  return [`Secret/${volume.secret.secretName}`, items[0].key];
}

test("HTTPS with the Helm-generated certificate", () => {
  const objects = render({ set: kHTTPS });
  const c = "spec.template.spec.containers.0.";
  checkAll(assert, objects, [
    [kExtDp, c + "args", ["serve", "--listen", "0.0.0.0:8888", "--tls-cert", "/tls/tls.crt", "--tls-key", "/tls/tls.key",
      "--config", "/config/extender.yaml", "--shutdown-delay", "5"]],
    [kExtDp, c + "readinessProbe.httpGet.scheme", "HTTPS"],
    [kExtDp, c + "readinessProbe.httpGet.path", "/readyz"],
    [kExtDp, c + "livenessProbe.httpGet.scheme", "HTTPS"],
    [kExtSecret, "type", "kubernetes.io/tls"],
  ]);
  const spec = get(objects.must(kExtDp), "spec.template.spec");
  const mount = findByName(spec.containers[0].volumeMounts, "extender-tls");
  assert.equal(mount?.mountPath, "/tls");
  assert.equal(mount?.subPath, undefined, "a subPath mount never sees a renewed certificate");
  assert.equal(findByName(spec.volumes, "extender-tls")?.secret?.secretName, "mpshare-extender-tls");

  const ext = schedulerExtender(objects);
  assert.equal(ext.enableHTTPS, true);
  const url = new URL(ext.urlPrefix);
  assert.deepEqual([url.protocol, url.port, url.pathname], ["https:", "8888", "/scheduler"], ext.urlPrefix);
  assert.deepEqual(trustedCA(objects, ext.tlsConfig.caFile), [kExtSecret, "ca.crt"]);
  const caPem = secretPem(objects, kExtSecret, "ca.crt");
  assert.deepEqual(verifiesFor(caPem, secretPem(objects, kExtSecret, "tls.crt"), url.hostname), []);
  secretPem(objects, kExtSecret, "tls.key");

  // A CA the scheduler has not read yet must restart it.
  const sum = createHash("sha256").update(caPem).digest("hex");
  assert.equal(get(objects.must(kSchedDp), ["spec", "template", "metadata", "annotations", "checksum/extender-ca"]), sum);
});

test("HTTPS with cert-manager", () => {
  const objects = render({ set: [...kHTTPS, "extender.tls.mode=certManager"] });
  assert.ok(!objects.has(kExtSecret), `${kExtSecret} rendered; cert-manager writes it`);
  const ext = schedulerExtender(objects);
  const url = new URL(ext.urlPrefix);
  assert.equal(url.protocol, "https:");
  assert.ok(get(objects.must(kExtCert), "spec.dnsNames").includes(url.hostname), `dnsNames lack ${url.hostname}`);
  assert.deepEqual(trustedCA(objects, ext.tlsConfig.caFile),
    [`Secret/${get(objects.must(kExtCert), "spec.secretName")}`, "ca.crt"]);
  // The serving certificate is signed by a CA that outlives its renewals: the
  // scheduler reads the CA once.
  checkAll(assert, objects, [
    [kExtCert, "spec.secretName", "mpshare-extender-tls"],
    [kExtCert, "spec.issuerRef.kind", "Issuer"],
    [kExtCert, "spec.issuerRef.name", "mpshare-extender-ca"],
    ["Issuer/mpshare-extender-ca", "spec.ca.secretName", get(objects.must(kExtCA), "spec.secretName")],
    [kExtCA, "spec.isCA", true],
    [kExtCA, "spec.duration", "87600h"],
    [kExtCA, "spec.issuerRef.name", "mpshare-extender-selfsigned"],
    ["Issuer/mpshare-extender-selfsigned", "spec.selfSigned", {}],
    [kExtDp, "spec.template.spec.containers.0.args.4", "/tls/tls.crt"],
    [kSchedDp, ["spec", "template", "metadata", "annotations", "checksum/extender-ca"], undefined],
  ]);

  const own = render({ set: [...kHTTPS, "extender.tls.mode=certManager",
    "extender.tls.certManager.issuerRef.kind=ClusterIssuer", "extender.tls.certManager.issuerRef.name=my-ca"] });
  checkAll(assert, own, [
    [kExtCert, "spec.issuerRef.kind", "ClusterIssuer"],
    [kExtCert, "spec.issuerRef.name", "my-ca"],
  ]);
  for (const absent of [kExtCA, "Issuer/mpshare-extender-ca", "Issuer/mpshare-extender-selfsigned"]) {
    assert.ok(!own.has(absent), `${absent} rendered although an issuerRef is given`);
  }
});

// A CA the user names replaces the mounted one: no mount, no caFile of the chart's.
test("HTTPS with the user's CA", () => {
  const objects = render({ set: [...kHTTPS, "scheduler.extender.tlsConfig.caData=Zm9v"] });
  assert.deepEqual(schedulerExtender(objects).tlsConfig, { caData: "Zm9v" });
  const volumes = get(objects.must(kSchedDp), "spec.template.spec.volumes");
  assert.equal(findByName(volumes, "extender-ca"), undefined, "the extender's CA is mounted although tlsConfig names one");
  objects.must(kExtSecret); // the extender still needs its serving certificate
});

test("extender Deployment without HTTPS", () => {
  const objects = render({ set: ["extender.mode=deployment"] });
  checkAll(assert, objects, [
    [kExtDp, "spec.template.spec.containers.0.args", ["serve", "--listen", "0.0.0.0:8888", "--config", "/config/extender.yaml",
      "--shutdown-delay", "5"]],
    [kExtDp, "spec.template.spec.containers.0.readinessProbe.httpGet.scheme", "HTTP"],
    [kExtDp, "spec.template.spec.containers.0.volumeMounts.1", undefined],
  ]);
  const ext = schedulerExtender(objects);
  assert.equal(ext.urlPrefix, "http://mpshare-extender.mpshare.svc:8888/scheduler");
  assert.equal(ext.enableHTTPS, false);
  assert.equal(ext.tlsConfig, undefined);
  for (const absent of [kExtSecret, kExtCert]) assert.ok(!objects.has(absent), `${absent} rendered without enableHTTPS`);
});
