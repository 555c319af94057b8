package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const (
	kMWC       = "MutatingWebhookConfiguration/mpshare-webhook"
	kWebhookDp = "Deployment/mpshare-webhook"
	kSchedDp   = "Deployment/mpshare-scheduler"
	kDaemon    = "DaemonSet/mpshare-mps-daemon"
	kAgent     = "DaemonSet/mpshare-node"
)

func TestDefaultRenderHoldsEveryComponent(t *testing.T) {
	objs := renderObjects(t, Options{})
	want := []string{
		"ConfigMap/mpshare-webhook", "Secret/mpshare-webhook-tls", "ServiceAccount/mpshare-webhook",
		"Service/mpshare-webhook", kWebhookDp, "PodDisruptionBudget/mpshare-webhook", kMWC,
		"ConfigMap/mpshare-scheduler", "ServiceAccount/mpshare-scheduler", kSchedDp,
		"ClusterRoleBinding/mpshare-scheduler-kube-scheduler",
		"ClusterRoleBinding/mpshare-scheduler-volume-scheduler",
		"Role/mpshare-scheduler-leader-election", "RoleBinding/mpshare-scheduler-leader-election",
		"RoleBinding/mpshare-scheduler-auth-reader",
		"ConfigMap/mpshare-extender", "ClusterRole/mpshare-extender", "ClusterRoleBinding/mpshare-extender",
		kAgent, "ServiceAccount/mpshare-node", "ClusterRole/mpshare-node", "ClusterRoleBinding/mpshare-node",
	}
	for _, key := range want {
		objs.must(t, key)
	}
	got := objs.keys()
	sort.Strings(got)
	if len(got) != len(want) {
		t.Errorf("rendered %d objects, want %d: %v", len(got), len(want), got)
	}
	// The node agent runs the MPS daemons: the old DaemonSet is not rendered beside it.
	for _, absent := range []string{"Namespace/mpshare", "Deployment/mpshare-extender", "ServiceMonitor/mpshare-webhook", kDaemon} {
		if _, ok := objs[absent]; ok {
			t.Errorf("%s rendered by default", absent)
		}
	}
}

func TestMutatingWebhookConfiguration(t *testing.T) {
	objs := renderObjects(t, Options{})
	runChecks(t, objs, []check{
		{kMWC, "webhooks.0.name", "mutate.mpshare.io"},
		{kMWC, "webhooks.0.admissionReviewVersions", "- v1"},
		{kMWC, "webhooks.0.sideEffects", "None"},
		{kMWC, "webhooks.0.failurePolicy", "Fail"},
		{kMWC, "webhooks.0.timeoutSeconds", "10"},
		{kMWC, "webhooks.0.reinvocationPolicy", "IfNeeded"},
		{kMWC, "webhooks.0.rules.0.operations", "- CREATE"},
		{kMWC, "webhooks.0.rules.0.apiGroups", `- ""`},
		{kMWC, "webhooks.0.rules.0.apiVersions", "- v1"},
		{kMWC, "webhooks.0.rules.0.resources", "- pods"},
		{kMWC, "webhooks.0.clientConfig.service.name", "mpshare-webhook"},
		{kMWC, "webhooks.0.clientConfig.service.namespace", "mpshare"},
		{kMWC, "webhooks.0.clientConfig.service.port", "443"},
		{kMWC, "webhooks.0.namespaceSelector.matchExpressions.0.key", "kubernetes.io/metadata.name"},
		{kMWC, "webhooks.0.namespaceSelector.matchExpressions.0.operator", "NotIn"},
		{kMWC, "webhooks.0.namespaceSelector.matchExpressions.0.values", "- mpshare - kube-system"},
		{kMWC, "webhooks.0.namespaceSelector.matchLabels", "mpshare.io/enabled: \"true\""},
		{kMWC, "webhooks.0.objectSelector", "<absent>"},
		{kMWC, "metadata.annotations", "<absent>"},
	})
}

// The caBundle the API server trusts must verify the certificate the server serves,
// for the Service's DNS name; both come from one generation.
func TestHelmGeneratedCertificateMatchesCABundle(t *testing.T) {
	objs := renderObjects(t, Options{})
	decode := func(what string, b64 interface{}) []byte {
		s, _ := b64.(string)
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(raw) == 0 {
			t.Fatalf("%s is not base64 PEM: %v", what, err)
		}
		return raw
	}
	caPEM := decode("caBundle", get(objs.must(t, kMWC), "webhooks.0.clientConfig.caBundle"))
	secret := objs.must(t, "Secret/mpshare-webhook-tls")
	runChecks(t, objs, []check{{"Secret/mpshare-webhook-tls", "type", "kubernetes.io/tls"}})
	data, _ := secret["data"].(map[string]interface{})
	certPEM := decode("tls.crt", data["tls.crt"])
	decode("tls.key", data["tls.key"])
	if string(decode("ca.crt", data["ca.crt"])) != string(caPEM) {
		t.Errorf("Secret ca.crt differs from the MutatingWebhookConfiguration caBundle")
	}
	for _, name := range []string{"mpshare-webhook.mpshare.svc", "mpshare-webhook.mpshare.svc.cluster.local"} {
		verifiesFor(t, caPEM, certPEM, name)
	}
}

func TestWebhookDeployment(t *testing.T) {
	objs := renderObjects(t, Options{})
	c := "spec.template.spec.containers.0."
	runChecks(t, objs, []check{
		{kWebhookDp, "spec.replicas", "2"},
		{kWebhookDp, "spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution.0.podAffinityTerm.topologyKey", "kubernetes.io/hostname"},
		{kWebhookDp, c + "command", "- mpshare-webhook"},
		{kWebhookDp, c + "args", "- serve - --listen - 0.0.0.0:8443 - --tls-cert - /tls/tls.crt - --tls-key - /tls/tls.key - --config - /config/webhook.yaml - --metrics-listen - 0.0.0.0:9090 - --threads - \"4\""},
		{kWebhookDp, c + "ports.0.containerPort", "8443"},
		{kWebhookDp, c + "ports.1.name", "metrics"},
		{kWebhookDp, c + "volumeMounts.0.mountPath", "/tls"},
		// A subPath mount would never see the kubelet's update of a rotated Secret.
		{kWebhookDp, c + "volumeMounts.0.subPath", "<absent>"},
		{kWebhookDp, "spec.template.spec.volumes.0.secret.secretName", "mpshare-webhook-tls"},
		{kWebhookDp, "spec.template.spec.volumes.1.configMap.name", "mpshare-webhook"},
		{"Service/mpshare-webhook", "spec.ports.0.port", "443"},
		{"Service/mpshare-webhook", "spec.ports.0.targetPort", "https"},
		{"Service/mpshare-webhook", "spec.ports.1.port", "9090"},
	})
	cfg := embedded(t, objs, "mpshare-webhook", "webhook.yaml")
	runChecks(t, objects{"cfg/x": cfg}, []check{
		{"cfg/x", "webhook.gpuResourceNames", "- nvidia.com/gpu - nvidia.com/gpu.shared"},
		{"cfg/x", "webhook.daemonAccess.pipeDirectory", "/run/mpshare/mps/pipe"},
		{"cfg/x", "webhook.daemonAccess.inject", "true"},
		// The node agent's CDI edits carry the pipe; the webhook keeps hostIPC.
		{"cfg/x", "webhook.daemonAccess.pipe", "false"},
		{"cfg/x", "webhook.minMemoryLimit", "256Mi"},
	})
}

func TestSchedulerAndExtender(t *testing.T) {
	objs := renderObjects(t, Options{})
	sc := embedded(t, objs, "mpshare-scheduler", kSchedulerDataKey)
	runChecks(t, objects{"sc/x": sc}, []check{
		{"sc/x", "apiVersion", "kubescheduler.config.k8s.io/v1"},
		{"sc/x", "kind", "KubeSchedulerConfiguration"},
		{"sc/x", "profiles.0.schedulerName", "mpshare-scheduler"},
		{"sc/x", "leaderElection.leaderElect", "true"},
		{"sc/x", "leaderElection.resourceName", "mpshare-scheduler"},
		{"sc/x", "extenders.0.urlPrefix", "http://127.0.0.1:8888/scheduler"},
		{"sc/x", "extenders.0.filterVerb", "filter"},
		{"sc/x", "extenders.0.prioritizeVerb", "prioritize"},
		{"sc/x", "extenders.0.bindVerb", "bind"},
		{"sc/x", "extenders.0.weight", "5"},
		{"sc/x", "extenders.0.nodeCacheCapable", "true"},
		{"sc/x", "extenders.0.ignorable", "false"},
		{"sc/x", "extenders.0.httpTimeout", "5s"},
		{"sc/x", "extenders.0.enableHTTPS", "false"},
		{"sc/x", "extenders.0.managedResources.0.name", "nvidia.com/gpu"},
		{"sc/x", "extenders.0.managedResources.1.name", "nvidia.com/gpu.shared"},
		{"sc/x", "extenders.0.managedResources.1.ignoredByScheduler", "false"},
	})
	c := "spec.template.spec.containers."
	runChecks(t, objs, []check{
		{kSchedDp, c + "0.image", "registry.k8s.io/kube-scheduler:v1.31.0"},
		{kSchedDp, c + "0.command.1", "--config=/etc/kubernetes/mpshare/kube-scheduler-config.yaml"},
		{kSchedDp, c + "1.name", "extender"},
		{kSchedDp, c + "1.args", "- serve - --listen - 127.0.0.1:8888 - --config - /config/extender.yaml"},
		{kSchedDp, "spec.template.spec.serviceAccountName", "mpshare-scheduler"},
		{"ClusterRoleBinding/mpshare-scheduler-kube-scheduler", "roleRef.name", "system:kube-scheduler"},
		{"ClusterRoleBinding/mpshare-scheduler-volume-scheduler", "roleRef.name", "system:volume-scheduler"},
		{"ClusterRoleBinding/mpshare-extender", "subjects.0.name", "mpshare-scheduler"},
		{"ClusterRole/mpshare-extender", "rules.2.resources", "- pods/binding"},
		{"ClusterRole/mpshare-extender", "rules.2.verbs", "- create"},
	})
	role := objs.must(t, "ClusterRole/mpshare-extender")
	mustContain(t, "nodes verbs", get(role, "rules.0.verbs"), "list", "watch")
	mustContain(t, "pods verbs", get(role, "rules.1.verbs"), "get", "list", "watch")
}

func TestMpsDaemonDaemonSet(t *testing.T) {
	objs := renderObjects(t, Options{Set: []string{"nodeAgent.enabled=false"}})
	s := "spec.template.spec."
	c := s + "containers.0."
	runChecks(t, objs, []check{
		{kDaemon, s + "nodeSelector", "mpshare.io/mps: enabled"},
		{kDaemon, s + "hostIPC", "true"},
		{kDaemon, c + "securityContext.privileged", "false"},
		{kDaemon, c + "command", "- nvidia-cuda-mps-control - -f"},
		{kDaemon, c + "lifecycle.preStop.exec.command.2", "echo quit | nvidia-cuda-mps-control"},
		{kDaemon, s + "volumes.0.hostPath.path", "/run/mpshare/mps/pipe"},
		{kDaemon, c + "volumeMounts.0.mountPath", "/run/mpshare/mps/pipe"},
	})
	env := get(objs.must(t, kDaemon), c+"env")
	for name, want := range map[string]string{
		"NVIDIA_VISIBLE_DEVICES": "all", "CUDA_MPS_PIPE_DIRECTORY": "/run/mpshare/mps/pipe",
		"CUDA_MPS_LOG_DIRECTORY": "/var/log/mpshare-mps",
	} {
		if got := str(get(findByName(env, name), "value")); got != want {
			t.Errorf("daemon env %s = %q, want %q", name, got, want)
		}
	}
	// No default limits on the daemon: they would cap every client (design.md).
	for _, e := range env.([]interface{}) {
		if n := str(get(e, "name")); strings.HasPrefix(n, "CUDA_MPS_ACTIVE") || strings.HasPrefix(n, "CUDA_MPS_PINNED") {
			t.Errorf("daemon sets %s; it must start without default limits", n)
		}
	}
}

func TestOverrides(t *testing.T) {
	objs := renderObjects(t, Options{
		ReleaseName: "gpu", Namespace: "infra",
		Set: []string{
			"webhook.failurePolicy=Ignore", "webhook.timeoutSeconds=5",
			"webhook.excludeNamespaces=[monitoring]", "webhook.objectSelector.matchLabels.team=ml",
			"webhook.tls.mode=certManager", "webhook.metrics.serviceMonitor.enabled=true",
			"extender.mode=deployment", "scheduler.extender.enableHTTPS=true",
			"scheduler.extender.tlsConfig.serverName=gpu-mpshare-extender.infra.svc",
			"mpsDaemon.enabled=false", "gpuResourceNames=[example.com/gpu]", "mps.pipeDirectory=/run/x",
			"nodeAgent.resourceName=example.com/gpu",
		},
	})
	mwc := "MutatingWebhookConfiguration/gpu-mpshare-webhook"
	runChecks(t, objs, []check{
		{mwc, "webhooks.0.failurePolicy", "Ignore"},
		{mwc, "webhooks.0.timeoutSeconds", "5"},
		{mwc, "webhooks.0.namespaceSelector.matchExpressions.0.values", "- infra - kube-system - monitoring"},
		{mwc, "webhooks.0.objectSelector.matchLabels.team", "ml"},
		{mwc, "webhooks.0.clientConfig.caBundle", "<absent>"},
		{"Certificate/gpu-mpshare-webhook", "spec.secretName", "gpu-mpshare-webhook-tls"},
		{"Certificate/gpu-mpshare-webhook", "spec.dnsNames.2", "gpu-mpshare-webhook.infra.svc"},
		{"Certificate/gpu-mpshare-webhook", "spec.issuerRef.name", "gpu-mpshare-webhook-selfsigned"},
		{"Issuer/gpu-mpshare-webhook-selfsigned", "spec.selfSigned", "{}"},
		{"ServiceMonitor/gpu-mpshare-webhook", "spec.endpoints.0.port", "metrics"},
		{"Deployment/gpu-mpshare-extender", "spec.replicas", "1"},
		{"Deployment/gpu-mpshare-extender", "spec.strategy.type", "Recreate"},
		{"Deployment/gpu-mpshare-extender", "spec.template.spec.containers.0.args.2", "0.0.0.0:8888"},
		{"Service/gpu-mpshare-extender", "spec.ports.0.port", "8888"},
		{"ClusterRoleBinding/gpu-mpshare-extender", "subjects.0.name", "gpu-mpshare-extender"},
		{"Deployment/gpu-mpshare-scheduler", "spec.template.spec.containers.1", "<absent>"},
	})
	ann := get(objs.must(t, mwc), "metadata.annotations").(map[string]interface{})
	if got := ann["cert-manager.io/inject-ca-from"]; got != "infra/gpu-mpshare-webhook" {
		t.Errorf("inject-ca-from = %v, want infra/gpu-mpshare-webhook", got)
	}
	for _, absent := range []string{"Secret/gpu-mpshare-webhook-tls", "DaemonSet/gpu-mpshare-mps-daemon"} {
		if _, ok := objs[absent]; ok {
			t.Errorf("%s rendered although turned off", absent)
		}
	}
	sc := embedded(t, objs, "gpu-mpshare-scheduler", kSchedulerDataKey)
	runChecks(t, objects{"sc/x": sc}, []check{
		{"sc/x", "extenders.0.urlPrefix", "https://gpu-mpshare-extender.infra.svc:8888/scheduler"},
		{"sc/x", "extenders.0.enableHTTPS", "true"},
		{"sc/x", "extenders.0.tlsConfig.serverName", "gpu-mpshare-extender.infra.svc"},
		{"sc/x", "extenders.0.managedResources", "- ignoredByScheduler: false name: example.com/gpu"},
		{"sc/x", "leaderElection.resourceNamespace", "infra"},
	})
	wc := embedded(t, objs, "gpu-mpshare-webhook", "webhook.yaml")
	runChecks(t, objects{"c/x": wc}, []check{
		{"c/x", "webhook.gpuResourceNames", "- example.com/gpu"},
		{"c/x", "webhook.daemonAccess.pipeDirectory", "/run/x"},
	})
}

// The MPS daemon uses host IPC and hostPath volumes and the node agent is
// privileged, refused below Pod Security "privileged"; a namespace the chart
// creates must allow them.
func TestCreatedNamespaceAdmitsTheDaemon(t *testing.T) {
	objs := renderObjects(t, Options{Set: []string{"createNamespace=true"}})
	labels, _ := get(objs.must(t, "Namespace/mpshare"), "metadata.labels").(map[string]interface{})
	if got := str(labels["pod-security.kubernetes.io/enforce"]); got != "privileged" {
		t.Errorf("Namespace pod-security.kubernetes.io/enforce = %s, want privileged", got)
	}
	for _, set := range [][]string{{"nodeAgent.enabled=false"}, {"mpsDaemon.enabled=false"}} {
		objs = renderObjects(t, Options{Set: append([]string{"createNamespace=true"}, set...)})
		labels, _ = get(objs.must(t, "Namespace/mpshare"), "metadata.labels").(map[string]interface{})
		if got := str(labels["pod-security.kubernetes.io/enforce"]); got != "privileged" {
			t.Errorf("--set %v: Namespace pod-security.kubernetes.io/enforce = %s, want privileged", set, got)
		}
	}
	objs = renderObjects(t, Options{Set: []string{"createNamespace=true", "mpsDaemon.enabled=false", "nodeAgent.enabled=false"}})
	labels, _ = get(objs.must(t, "Namespace/mpshare"), "metadata.labels").(map[string]interface{})
	if _, ok := labels["pod-security.kubernetes.io/enforce"]; ok {
		t.Errorf("Namespace relaxes Pod Security without the MPS daemon or the node agent")
	}
}

// The plain manifests are committed; they must be exactly what the chart renders now.
func TestCommittedPlainManifestsMatchTheChart(t *testing.T) {
	files, err := PlainManifests(repoRoot)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	const regen = "regenerate with: tests/charts/render.sh -write-manifests ."
	for rel, want := range files {
		got, err := os.ReadFile(filepath.Join(repoRoot, rel))
		if err != nil {
			t.Errorf("%s: %v (%s)", rel, err, regen)
			continue
		}
		if string(got) != want {
			t.Errorf("%s differs from a fresh render of the chart (%s)", rel, regen)
		}
	}
	onDisk, _ := filepath.Glob(filepath.Join(repoRoot, kInstallDir, "*.yaml"))
	for _, path := range onDisk {
		rel := filepath.Join(kInstallDir, filepath.Base(path))
		if _, ok := files[rel]; !ok {
			t.Errorf("%s is not rendered by the chart any more (%s)", rel, regen)
		}
	}
}
