// Every value the binaries refuse (a pod that crash-loops) or the chart would
// silently drop is refused by `helm template` (and so `helm install`), by
// values.schema.json or by templates/validate.yaml, with an error naming the value.
// Each case is one install: `set` as a user types --set, `values` as a values file;
// `want` are fragments the error must hold, the value's path first. For an unknown
// or missing key helm names the parent path and the key: "podDefaults: Additional
// property threadPercent is not allowed".
import assert from "node:assert/strict";
import { test } from "node:test";
import { helmTemplate, refusal } from "./lib/helm.mjs";
import { requireTools } from "./lib/tools.mjs";

requireTools();

const kOutOfRange = (path, bound) => [`${path}: Must be ${bound}`];
const kPattern = (path) => [`${path}: Does not match pattern`];
const kOneOf = (path) => [`${path}: ${path} must be one of the following:`];
const kUnknown = (parent, key) => [`${parent}: Additional property ${key} is not allowed`];

const kRefused = [
  // The shared pod defaults: mpshare-webhook and mpshare-extender config.
  { set: ["podDefaults.threadPercentage=150"], want: kOutOfRange("podDefaults.threadPercentage", "less than or equal to 100") },
  { set: ["podDefaults.threadPercentage=0"], want: kOutOfRange("podDefaults.threadPercentage", "greater than or equal to 1") },
  { set: ["podDefaults.threadPercentage=half"], want: kPattern("podDefaults.threadPercentage") },
  { set: ["podDefaults.minMemoryLimit=abc"], want: kPattern("podDefaults.minMemoryLimit") },
  { set: ["podDefaults.minMemoryLimit=4GB"], want: kPattern("podDefaults.minMemoryLimit") },
  { set: ["podDefaults.minMemoryLimit=1k"], want: ["podDefaults.minMemoryLimit must be a quantity of at least 1Mi", 'got "1k"'] },
  { set: ["podDefaults.minMemoryLimit=null"], want: ["podDefaults: minMemoryLimit is required"] },
  { set: ["podDefaults.memoryLimit=100Mi"], want: ["podDefaults.memoryLimit must be at least podDefaults.minMemoryLimit (256Mi)", 'got "100Mi"'] },
  { set: ["podDefaults.minMemoryLimit=1Gi", "podDefaults.memoryLimit=1000Mi"], want: ["podDefaults.memoryLimit must be at least podDefaults.minMemoryLimit (1Gi)"] },
  { set: ["podDefaults.memoryLimit=8GB"], want: kPattern("podDefaults.memoryLimit") },
  { set: ["podDefaults.threadPercent=50"], want: kUnknown("podDefaults", "threadPercent") },
  // mpshare-extender's config.
  { set: ["extender.config.policy=roundrobin"], want: kOneOf("extender.config.policy") },
  { set: ["extender.config.threadOversubscription=0.5"], want: kPattern("extender.config.threadOversubscription") },
  { values: [{ extender: { config: { threadOversubscription: 0.5 } } }], want: kOutOfRange("extender.config.threadOversubscription", "greater than or equal to 1") },
  { set: ["extender.config.threadOversubscription=49"], want: kOutOfRange("extender.config.threadOversubscription", "less than or equal to 48") },
  { set: ["extender.config.threadOversubscription=48.5"], want: kPattern("extender.config.threadOversubscription") },
  { set: ["extender.config.maxClientsPerGpu=64"], want: kOutOfRange("extender.config.maxClientsPerGpu", "less than or equal to 48") },
  { set: ["extender.config.maxClientsPerGpu=0"], want: kOutOfRange("extender.config.maxClientsPerGpu", "greater than or equal to 1") },
  { set: ["extender.config.maxLearnedNodes=50001"], want: kOutOfRange("extender.config.maxLearnedNodes", "less than or equal to 50000") },
  { set: ["extender.config.plan.batchSize=0"], want: kOutOfRange("extender.config.plan.batchSize", "greater than or equal to 1") },
  { set: ["extender.config.plan.batchSize=65"], want: kOutOfRange("extender.config.plan.batchSize", "less than or equal to 64") },
  { set: ["extender.config.plan.orders=17"], want: kOutOfRange("extender.config.plan.orders", "less than or equal to 16") },
  { set: ["extender.config.plan.settleMilliseconds=1001"], want: kOutOfRange("extender.config.plan.settleMilliseconds", "less than or equal to 1000") },
  { set: ["extender.config.plan.ttlSeconds=0"], want: kOutOfRange("extender.config.plan.ttlSeconds", "greater than or equal to 1") },
  { set: ["extender.config.plan.schedulerName=My_Scheduler"], want: kPattern("extender.config.plan.schedulerName") },
  { set: ["extender.config.plan.batch=16"], want: kUnknown("extender.config.plan", "batch") },
  { set: ["extender.config.urlPrefix=/x"], want: kUnknown("extender.config", "urlPrefix") },
  { set: ["extender.pathPrefix=scheduler"], want: kPattern("extender.pathPrefix") },
  { set: ["extender.port=0"], want: kOutOfRange("extender.port", "greater than or equal to 1") },
  { set: ["extender.port=10259"], want: ["extender.port must not be 10259 with extender.mode: sidecar"] },
  { set: ["extender.shutdownDelaySeconds=-1"], want: kOutOfRange("extender.shutdownDelaySeconds", "greater than or equal to 0") },
  { set: ["extender.shutdownDelaySeconds=301"], want: kOutOfRange("extender.shutdownDelaySeconds", "less than or equal to 300") },
  { set: ["extender.shutdownDelaySeconds=5s"], want: ["extender.shutdownDelaySeconds: Invalid type. Expected: integer, given: string"] },
  // mpshare-webhook's flags and config.
  { set: ["webhook.threads=0"], want: kOutOfRange("webhook.threads", "greater than or equal to 1") },
  { set: ["webhook.threads=500"], want: kOutOfRange("webhook.threads", "less than or equal to 256") },
  { set: ["webhook.threads=many"], want: ["webhook.threads: Invalid type. Expected: integer, given: string"] },
  { set: ["webhook.shutdownDelaySeconds=-1"], want: kOutOfRange("webhook.shutdownDelaySeconds", "greater than or equal to 0") },
  { set: ["webhook.shutdownDelaySeconds=301"], want: kOutOfRange("webhook.shutdownDelaySeconds", "less than or equal to 300") },
  { set: ["webhook.port=70000"], want: kOutOfRange("webhook.port", "less than or equal to 65535") },
  { set: ["webhook.metrics.port=8443"], want: ["webhook.port and webhook.metrics.port must differ"] },
  { set: ["webhook.config.maxRequestBytes=1Ki"], want: ["webhook.config.maxRequestBytes must be a quantity from 4Ki to 64Mi", 'got "1Ki"'] },
  { set: ["webhook.config.maxRequestBytes=1Gi"], want: ["webhook.config.maxRequestBytes must be a quantity from 4Ki to 64Mi"] },
  { set: ["webhook.config.maxRequestBytes=lots"], want: kPattern("webhook.config.maxRequestBytes") },
  { set: ["webhook.config.daemonAccess.inject=yes"], want: ["webhook.config.daemonAccess.inject: Invalid type. Expected: boolean, given: string"] },
  { set: ["webhook.config.daemonAccess.volumeName=MPS_Pipe"], want: kPattern("webhook.config.daemonAccess.volumeName") },
  { set: ["webhook.config.daemonAccess.pipeDirectory=/x"], want: kUnknown("webhook.config.daemonAccess", "pipeDirectory") },
  { set: ["webhook.config.minMemoryLimit=1Gi"], want: kUnknown("webhook.config", "minMemoryLimit") },
  { set: ["webhook.config.daemonAccess.pipe=true"], want: ["webhook.config.daemonAccess.pipe: true has no effect with nodeAgent.enabled"] },
  {
    set: ["nodeAgent.enabled=false", "webhook.config.daemonAccess.inject=false", "webhook.config.daemonAccess.pipe=true"],
    want: ["webhook.config.daemonAccess.pipe: true needs webhook.config.daemonAccess.inject: true"],
  },
  { set: ["mps.pipeDirectory=run/mps"], want: kPattern("mps.pipeDirectory") },
  { set: ["gpuResourceNames={gpu}"], want: kPattern("gpuResourceNames.0") },
  { values: [{ gpuResourceNames: [] }], want: ["gpuResourceNames: Array must have at least 1 items"] },
  { set: ["gpuResourceNames=nvidia.com/gpu"], want: ["gpuResourceNames: Invalid type. Expected: array, given: string"] },
  // The webhook configuration and its TLS, as the API server takes them.
  { set: ["webhook.failurePolicy=Maybe"], want: kOneOf("webhook.failurePolicy") },
  { set: ["webhook.reinvocationPolicy=Always"], want: kOneOf("webhook.reinvocationPolicy") },
  { set: ["webhook.timeoutSeconds=31"], want: kOutOfRange("webhook.timeoutSeconds", "less than or equal to 30") },
  { set: ["webhook.name=mpshare"], want: kPattern("webhook.name") },
  { set: ["webhook.tls.mode=vault"], want: kOneOf("webhook.tls.mode") },
  { set: ["webhook.namespaceSelection=some"], want: kOneOf("webhook.namespaceSelection") },
  { set: ["webhook.optInLabel.key="], want: ["webhook.optInLabel.key must name a namespace label"] },
  // The scheduler and its extender entry.
  { set: ["scheduler.extender.weight=0"], want: kOutOfRange("scheduler.extender.weight", "greater than or equal to 1") },
  { set: ["scheduler.extender.httpTimeout=5"], want: ["scheduler.extender.httpTimeout: Invalid type. Expected: string, given: integer"] },
  { set: ["scheduler.extender.httpTimeout=5 s"], want: kPattern("scheduler.extender.httpTimeout") },
  { set: ["scheduler.extender.enableHTTPS=true"], want: ["scheduler.extender.enableHTTPS needs extender.mode: deployment"] },
  { set: ["extender.mode=daemonset"], want: kOneOf("extender.mode") },
  { set: ["extender.tls.mode=vault"], want: kOneOf("extender.tls.mode") },
  // The managed nodes and mpshare-node's flags.
  { set: ["managedNodeSelector=null"], want: ["(root): managedNodeSelector is required"] },
  { values: [{ managedNodeSelector: [] }], want: ["managedNodeSelector: Invalid type. Expected: object, given: array"] },
  { set: ["managedNodeSelector.mpshare\\.io/mps=true"], want: ["managedNodeSelector.mpshare.io/mps: Invalid type. Expected: string, given: boolean"] },
  { set: ["nodeAgent.clientsPerGpu=49"], want: kOutOfRange("nodeAgent.clientsPerGpu", "less than or equal to 48") },
  { set: ["nodeAgent.clientsPerGpu=0"], want: kOutOfRange("nodeAgent.clientsPerGpu", "greater than or equal to 1") },
  { set: ["nodeAgent.metricsPort=99999"], want: kOutOfRange("nodeAgent.metricsPort", "less than or equal to 65535") },
  { set: ["nodeAgent.cdiDir="], want: kPattern("nodeAgent.cdiDir") },
  { set: ["nodeAgent.kubeletRootDir=var/lib/kubelet"], want: kPattern("nodeAgent.kubeletRootDir") },
  { set: ["nodeAgent.resourceName=gpu"], want: kPattern("nodeAgent.resourceName") },
  { set: ["nodeAgent.resourceName=example.com/gpu"], want: ['nodeAgent.resourceName "example.com/gpu" must be one of gpuResourceNames [nvidia.com/gpu nvidia.com/gpu.shared]'] },
  {
    set: ["gpuResourceNames={kubernetes.io/gpu}", "nodeAgent.resourceName=kubernetes.io/gpu"],
    want: ["nodeAgent.resourceName must be an extended resource name outside kubernetes.io/"],
  },
  { set: ["webhook.config.daemonAccess.inject=false"], want: ["webhook.config.daemonAccess.inject: false (the capped mode under the device plugin's own MPS daemon) needs nodeAgent.enabled: false"] },
  // Images and the rest.
  { set: ["image.pullPolicy=Sometimes"], want: kOneOf("image.pullPolicy") },
  { set: ["nodeAgent.image.repository="], want: ["nodeAgent.image.repository: String length must be greater than or equal to 1"] },
  { set: ["webhook.thread=8"], want: kUnknown("webhook", "thread") },
];

const describe = (c) => [...(c.set ?? []).map((s) => `--set ${s}`), ...(c.values ?? []).map((v) => `-f ${JSON.stringify(v)}`)].join(" ");

test("bad values are refused, naming the value", () => {
  const problems = [];
  for (const c of kRefused) {
    const r = helmTemplate({ release: "m", namespace: "m", ...c });
    if (r.ok) {
      problems.push(`${describe(c)} rendered; want a refusal naming ${c.want[0]}`);
      continue;
    }
    const missing = c.want.filter((w) => !r.stderr.includes(w));
    if (missing.length > 0) problems.push(`${describe(c)}: error\n${r.stderr}lacks ${JSON.stringify(missing)}`);
  }
  assert.deepEqual(problems, []);
});

// The values just inside each range render: the refusals above are the binaries'
// ranges, not narrower ones.
test("values at the edges of the ranges render", () => {
  const problems = [];
  for (const set of [
    ["podDefaults.threadPercentage=1", "podDefaults.memoryLimit=256Mi"],
    ["podDefaults.threadPercentage=100", "podDefaults.memoryLimit=1.5Gi", "podDefaults.minMemoryLimit=1Mi"],
    ["podDefaults.minMemoryLimit=1e7", "podDefaults.memoryLimit=10000000"],
    ["extender.config.threadOversubscription=1.5", "extender.config.maxClientsPerGpu=1"],
    ["extender.config.threadOversubscription=48", "extender.config.policy=spread", "extender.config.maxLearnedNodes=0"],
    ["extender.config.policy=fgd-plus"],
    ["extender.config.plan.batchSize=1", "extender.config.plan.orders=1", "extender.config.plan.settleMilliseconds=0",
      "extender.config.plan.ttlSeconds=1", "extender.config.plan.schedulerName=a"],
    ["extender.config.plan.batchSize=64", "extender.config.plan.orders=16", "extender.config.plan.settleMilliseconds=1000",
      "extender.config.plan.ttlSeconds=3600", "extender.config.policy=fgd", "extender.config.plan.schedulerName=gpu.example.com"],
    ["webhook.threads=1", "webhook.config.maxRequestBytes=4Ki"],
    ["webhook.threads=256", "webhook.config.maxRequestBytes=64Mi"],
    ["nodeAgent.clientsPerGpu=1", "nodeAgent.enabled=false", "webhook.config.daemonAccess.pipe=true"],
    ["nodeAgent.clientsPerGpu=48", "webhook.config.daemonAccess.pipe=false"],
    ["managedNodeSelector.pool=gpu", "scheduler.extender.httpTimeout=1m30s"],
  ]) {
    const r = helmTemplate({ release: "m", namespace: "m", set });
    if (!r.ok) problems.push(`${r.command}\n${r.stderr}`);
  }
  assert.deepEqual(problems, []);
});

// A values file that sets only what the chart knows renders, typed as YAML types
// it; one with an unknown key names it, as the binaries name an unknown config key.
test("values files are checked too", () => {
  const good = helmTemplate({ values: [{
    podDefaults: { threadPercentage: "50", memoryLimit: "8Gi" },
    extender: { config: { threadOversubscription: 1.5 } },
  }] });
  assert.ok(good.ok, good.stderr);
  const err = refusal({ values: [{ extender: { config: { policy: "roundrobin", maxClients: 8 } } }] });
  for (const want of [...kUnknown("extender.config", "maxClients"), ...kOneOf("extender.config.policy")]) {
    assert.ok(err.includes(`- ${want}`), `error\n${err}lacks ${want}`);
  }
});
