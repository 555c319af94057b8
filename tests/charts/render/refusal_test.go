package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every value the binaries refuse (a pod that crash-loops) or the chart would
// silently drop is refused at install time, by values.schema.json or by
// templates/validate.yaml, with an error naming the value path. Each case is one
// install: `--set`s as Helm takes them, and fragments the error must contain (the
// first is the value path). The Go renderer checks the schema as Helm does
// (schema.go), so what fails here fails `helm install`.
var kRefusedValues = []struct {
	set  []string
	want []string
}{
	// The shared pod defaults: mpshare-webhook and mpshare-extender config.
	{[]string{"podDefaults.threadPercentage=150"}, []string{"podDefaults.threadPercentage", "must be at most 100, got 150"}},
	{[]string{"podDefaults.threadPercentage=0"}, []string{"podDefaults.threadPercentage", "must be at least 1"}},
	{[]string{"podDefaults.threadPercentage=half"}, []string{"podDefaults.threadPercentage", `got "half"`}},
	{[]string{"podDefaults.minMemoryLimit=abc"}, []string{"podDefaults.minMemoryLimit", `got "abc"`}},
	{[]string{"podDefaults.minMemoryLimit=4GB"}, []string{"podDefaults.minMemoryLimit", `got "4GB"`}},
	{[]string{"podDefaults.minMemoryLimit=1k"}, []string{"podDefaults.minMemoryLimit must be a quantity of at least 1Mi", `got "1k"`}},
	{[]string{"podDefaults.minMemoryLimit=null"}, []string{"podDefaults.minMemoryLimit: is required"}},
	{[]string{"podDefaults.memoryLimit=100Mi"}, []string{"podDefaults.memoryLimit must be at least podDefaults.minMemoryLimit (256Mi)", `got "100Mi"`}},
	{[]string{"podDefaults.minMemoryLimit=1Gi", "podDefaults.memoryLimit=1000Mi"}, []string{"podDefaults.memoryLimit must be at least podDefaults.minMemoryLimit (1Gi)"}},
	{[]string{"podDefaults.memoryLimit=8GB"}, []string{"podDefaults.memoryLimit", `got "8GB"`}},
	{[]string{"podDefaults.threadPercent=50"}, []string{"podDefaults.threadPercent: is not a value of this chart", "threadPercentage"}},
	// mpshare-extender's config.
	{[]string{"extender.config.policy=fgd"}, []string{"extender.config.policy", "must be one of binpack, spread", `got "fgd"`}},
	{[]string{"extender.config.threadOversubscription=0.5"}, []string{"extender.config.threadOversubscription", `"0.5"`}},
	{[]string{"extender.config.threadOversubscription=49"}, []string{"extender.config.threadOversubscription", "must be at most 48"}},
	{[]string{"extender.config.threadOversubscription=48.5"}, []string{"extender.config.threadOversubscription", `"48.5"`}},
	{[]string{"extender.config.maxClientsPerGpu=64"}, []string{"extender.config.maxClientsPerGpu", "must be at most 48, got 64"}},
	{[]string{"extender.config.maxClientsPerGpu=0"}, []string{"extender.config.maxClientsPerGpu", "must be at least 1"}},
	{[]string{"extender.config.maxLearnedNodes=50001"}, []string{"extender.config.maxLearnedNodes", "must be at most 50000"}},
	{[]string{"extender.config.urlPrefix=/x"}, []string{"extender.config.urlPrefix: is not a value of this chart"}},
	{[]string{"extender.pathPrefix=scheduler"}, []string{"extender.pathPrefix", `got "scheduler"`}},
	{[]string{"extender.port=0"}, []string{"extender.port", "must be at least 1"}},
	{[]string{"extender.port=10259"}, []string{"extender.port must not be 10259 with extender.mode: sidecar"}},
	// mpshare-webhook's flags and config.
	{[]string{"webhook.threads=0"}, []string{"webhook.threads", "must be at least 1, got 0"}},
	{[]string{"webhook.threads=500"}, []string{"webhook.threads", "must be at most 256, got 500"}},
	{[]string{"webhook.threads=many"}, []string{"webhook.threads", `must be integer, got "many"`}},
	{[]string{"webhook.port=70000"}, []string{"webhook.port", "must be at most 65535"}},
	{[]string{"webhook.metrics.port=8443"}, []string{"webhook.port and webhook.metrics.port must differ"}},
	{[]string{"webhook.config.maxRequestBytes=1Ki"}, []string{"webhook.config.maxRequestBytes must be a quantity from 4Ki to 64Mi", `got "1Ki"`}},
	{[]string{"webhook.config.maxRequestBytes=1Gi"}, []string{"webhook.config.maxRequestBytes must be a quantity from 4Ki to 64Mi"}},
	{[]string{"webhook.config.maxRequestBytes=lots"}, []string{"webhook.config.maxRequestBytes", `got "lots"`}},
	{[]string{"webhook.config.daemonAccess.inject=yes"}, []string{"webhook.config.daemonAccess.inject", `must be boolean, got "yes"`}},
	{[]string{"webhook.config.daemonAccess.volumeName=MPS_Pipe"}, []string{"webhook.config.daemonAccess.volumeName", `got "MPS_Pipe"`}},
	{[]string{"webhook.config.daemonAccess.pipeDirectory=/x"}, []string{"webhook.config.daemonAccess.pipeDirectory: is not a value of this chart"}},
	{[]string{"webhook.config.minMemoryLimit=1Gi"}, []string{"webhook.config.minMemoryLimit: is not a value of this chart"}},
	{[]string{"webhook.config.daemonAccess.pipe=true"}, []string{"webhook.config.daemonAccess.pipe: true has no effect with nodeAgent.enabled"}},
	{[]string{"nodeAgent.enabled=false", "webhook.config.daemonAccess.inject=false", "webhook.config.daemonAccess.pipe=true"},
		[]string{"webhook.config.daemonAccess.pipe: true needs webhook.config.daemonAccess.inject: true"}},
	{[]string{"mps.pipeDirectory=run/mps"}, []string{"mps.pipeDirectory", `got "run/mps"`}},
	{[]string{"gpuResourceNames=[gpu]"}, []string{"gpuResourceNames[0]", `got "gpu"`}},
	{[]string{"gpuResourceNames=[]"}, []string{"gpuResourceNames", "must have at least 1 item"}},
	// The webhook configuration and its TLS, as the API server takes them.
	{[]string{"webhook.failurePolicy=Maybe"}, []string{"webhook.failurePolicy", "must be one of Fail, Ignore", `got "Maybe"`}},
	{[]string{"webhook.reinvocationPolicy=Always"}, []string{"webhook.reinvocationPolicy", "must be one of Never, IfNeeded"}},
	{[]string{"webhook.timeoutSeconds=31"}, []string{"webhook.timeoutSeconds", "must be at most 30, got 31"}},
	{[]string{"webhook.name=mpshare"}, []string{"webhook.name", `got "mpshare"`}},
	{[]string{"webhook.tls.mode=vault"}, []string{"webhook.tls.mode", "must be one of helm, certManager"}},
	{[]string{"webhook.namespaceSelection=some"}, []string{"webhook.namespaceSelection", "must be one of optIn, all", `got "some"`}},
	{[]string{"webhook.optInLabel.key="}, []string{"webhook.optInLabel.key must name a namespace label"}},
	// The scheduler and its extender entry.
	{[]string{"scheduler.extender.weight=0"}, []string{"scheduler.extender.weight", "must be at least 1"}},
	{[]string{"scheduler.extender.httpTimeout=5"}, []string{"scheduler.extender.httpTimeout", "must be string, got 5"}},
	{[]string{"scheduler.extender.httpTimeout=5 s"}, []string{"scheduler.extender.httpTimeout", `got "5 s"`}},
	{[]string{"scheduler.extender.enableHTTPS=true"}, []string{"scheduler.extender.enableHTTPS needs extender.mode: deployment"}},
	{[]string{"extender.mode=daemonset"}, []string{"extender.mode", "must be one of sidecar, deployment"}},
	{[]string{"extender.tls.mode=vault"}, []string{"extender.tls.mode", `got "vault"`}},
	// The managed nodes and mpshare-node's flags.
	{[]string{"managedNodeSelector=null"}, []string{"managedNodeSelector: is required"}},
	{[]string{"managedNodeSelector=[]"}, []string{"managedNodeSelector", "must be object, got a list"}},
	{[]string{"managedNodeSelector.mpshare\\.io/mps=true"}, []string{"managedNodeSelector.mpshare.io/mps", "must be string, got true"}},
	{[]string{"nodeAgent.clientsPerGpu=49"}, []string{"nodeAgent.clientsPerGpu", "must be at most 48, got 49"}},
	{[]string{"nodeAgent.clientsPerGpu=0"}, []string{"nodeAgent.clientsPerGpu", "must be at least 1"}},
	{[]string{"nodeAgent.metricsPort=99999"}, []string{"nodeAgent.metricsPort", "must be at most 65535"}},
	{[]string{"nodeAgent.cdiDir="}, []string{"nodeAgent.cdiDir", `got ""`}},
	{[]string{"nodeAgent.kubeletRootDir=var/lib/kubelet"}, []string{"nodeAgent.kubeletRootDir", `got "var/lib/kubelet"`}},
	{[]string{"nodeAgent.resourceName=gpu"}, []string{"nodeAgent.resourceName", `got "gpu"`}},
	{[]string{"nodeAgent.resourceName=example.com/gpu"}, []string{`nodeAgent.resourceName "example.com/gpu" must be one of gpuResourceNames [nvidia.com/gpu nvidia.com/gpu.shared]`}},
	{[]string{"gpuResourceNames=[kubernetes.io/gpu]", "nodeAgent.resourceName=kubernetes.io/gpu"}, []string{"nodeAgent.resourceName must be an extended resource name outside kubernetes.io/"}},
	{[]string{"webhook.config.daemonAccess.inject=false"}, []string{"webhook.config.daemonAccess.inject: false (the capped mode under the device plugin's own MPS daemon) needs nodeAgent.enabled: false"}},
	// Images and the rest.
	{[]string{"image.pullPolicy=Sometimes"}, []string{"image.pullPolicy", "must be one of Always, IfNotPresent, Never"}},
	{[]string{"nodeAgent.image.repository="}, []string{"nodeAgent.image.repository", "must be at least 1 character long"}},
	{[]string{"webhook.thread=8"}, []string{"webhook.thread: is not a value of this chart"}},
}

func TestRefusedValuesFailNamingTheValue(t *testing.T) {
	for _, c := range kRefusedValues {
		_, err := Render(filepath.Join(repoRoot, kChartDir), Options{ReleaseName: "m", Namespace: "m", Set: c.set})
		if err == nil {
			t.Errorf("--set %v rendered; want a refusal naming %s", c.set, c.want[0])
			continue
		}
		for _, want := range c.want {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("--set %v: error %v\nwant it to contain %q", c.set, err, want)
			}
		}
	}
}

// The values just inside each range render: the refusals above are the binaries'
// ranges, not narrower ones.
func TestValuesAtTheEdgesRender(t *testing.T) {
	for _, set := range [][]string{
		{"podDefaults.threadPercentage=1", "podDefaults.memoryLimit=256Mi"},
		{"podDefaults.threadPercentage=100", "podDefaults.memoryLimit=1.5Gi", "podDefaults.minMemoryLimit=1Mi"},
		{"podDefaults.minMemoryLimit=1e7", "podDefaults.memoryLimit=10000000"},
		{"extender.config.threadOversubscription=1.5", "extender.config.maxClientsPerGpu=1"},
		{"extender.config.threadOversubscription=48", "extender.config.policy=spread", "extender.config.maxLearnedNodes=0"},
		{"webhook.threads=1", "webhook.config.maxRequestBytes=4Ki"},
		{"webhook.threads=256", "webhook.config.maxRequestBytes=64Mi"},
		{"nodeAgent.clientsPerGpu=1", "nodeAgent.enabled=false", "webhook.config.daemonAccess.pipe=true"},
		{"nodeAgent.clientsPerGpu=48", "webhook.config.daemonAccess.pipe=false"},
		{"managedNodeSelector.pool=gpu", "scheduler.extender.httpTimeout=1m30s"},
	} {
		if _, err := Render(filepath.Join(repoRoot, kChartDir), Options{ReleaseName: "m", Namespace: "m", Set: set}); err != nil {
			t.Errorf("--set %v: %v", set, err)
		}
	}
}

// A values file that sets only what the chart knows renders; one with an unknown
// key names it, as the binaries name an unknown config key.
func TestValuesFileIsCheckedToo(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "v.yaml")
	if err := os.WriteFile(file, []byte("podDefaults:\n  threadPercentage: \"50\"\n  memoryLimit: 8Gi\nextender:\n  config:\n    threadOversubscription: \"1.5\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Render(filepath.Join(repoRoot, kChartDir), Options{ReleaseName: "m", Namespace: "m", ValueFiles: []string{file}}); err != nil {
		t.Errorf("%v", err)
	}
	if err := os.WriteFile(file, []byte("extender:\n  config:\n    policy: fgd\n    maxClients: 8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Render(filepath.Join(repoRoot, kChartDir), Options{ReleaseName: "m", Namespace: "m", ValueFiles: []string{file}})
	for _, want := range []string{"- extender.config.maxClients: is not a value of this chart", `- extender.config.policy: must be one of binpack, spread, got "fgd"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to contain %q", err, want)
		}
	}
}
