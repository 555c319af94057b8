package main

import (
	"strings"
	"testing"
)

// volumeHostPaths maps each volume of a pod template to its hostPath (path, type).
func volumeHostPaths(t *testing.T, ds object) map[string][2]string {
	t.Helper()
	out := map[string][2]string{}
	vols, _ := get(ds, "spec.template.spec.volumes").([]interface{})
	for _, v := range vols {
		if hp := get(v, "hostPath"); hp != nil {
			out[str(get(v, "name"))] = [2]string{str(get(hp, "path")), str(get(hp, "type"))}
		}
	}
	return out
}

// mountsByPath maps each mount of the first container: mountPath -> volume name.
func mountsByPath(ds object) map[string]object {
	out := map[string]object{}
	mounts, _ := get(ds, "spec.template.spec.containers.0.volumeMounts").([]interface{})
	for _, m := range mounts {
		out[str(get(m, "mountPath"))] = m.(map[string]interface{})
	}
	return out
}

// flagValue is the word after flag in args, "<absent>" when the flag is not there.
func flagValue(args interface{}, flag string) string {
	list, _ := args.([]interface{})
	for i, a := range list {
		if str(a) == flag && i+1 < len(list) {
			return str(list[i+1])
		}
	}
	return "<absent>"
}

func TestNodeAgentDaemonSet(t *testing.T) {
	objs := renderObjects(t, Options{})
	ds := objs.must(t, kAgent)
	s := "spec.template.spec."
	c := s + "containers.0."
	runChecks(t, objs, []check{
		{kAgent, s + "nodeSelector", "mpshare.io/mps: enabled"},
		{kAgent, s + "hostIPC", "true"},
		{kAgent, s + "hostPID", "false"},
		{kAgent, s + "hostNetwork", "<absent>"},
		{kAgent, s + "serviceAccountName", "mpshare-node"},
		{kAgent, s + "priorityClassName", "system-node-critical"},
		{kAgent, s + "runtimeClassName", "<absent>"},
		{kAgent, s + "tolerations.0.key", "nvidia.com/gpu"},
		// Replacing the agent ends its MPS daemons: never by itself on upgrade.
		{kAgent, "spec.updateStrategy.type", "OnDelete"},
		{kAgent, "spec.updateStrategy.rollingUpdate", "<absent>"},
		{kAgent, c + "securityContext.privileged", "true"},
		{kAgent, c + "image", "ghcr.io/mpshare/mpshare-node:0.1.0"},
		{kAgent, c + "command", "- mpshare-node"},
		{kAgent, c + "args.0", "serve"},
		{kAgent, c + "ports.0.name", "metrics"},
		{kAgent, c + "ports.0.containerPort", "9400"},
		{kAgent, c + "livenessProbe.httpGet.path", "/healthz"},
		{kAgent, c + "livenessProbe.httpGet.port", "metrics"},
		{kAgent, c + "readinessProbe.httpGet.path", "/healthz"},
		{kAgent, c + "readinessProbe.httpGet.port", "metrics"},
	})

	args := get(ds, c+"args")
	for flag, want := range map[string]string{
		"--node-name":            "$(NODE_NAME)",
		"--device-plugin-dir":    "/var/lib/kubelet/device-plugins/",
		"--pod-resources-socket": "/var/lib/kubelet/pod-resources/kubelet.sock",
		"--cdi-dir":              "/var/run/cdi",
		"--nvidia-cdi-spec":      "/var/run/cdi/nvidia.yaml",
		"--mps-root":             "/run/mpshare/mps",
		"--resource-name":        "nvidia.com/gpu.shared",
		"--clients-per-gpu":      "48",
		"--metrics-listen":       "0.0.0.0:9400",
		"--kubeconfig":           "<absent>", // in-cluster service account
	} {
		if got := flagValue(args, flag); got != want {
			t.Errorf("mpshare-node %s = %q, want %q", flag, got, want)
		}
	}

	env := get(ds, c+"env")
	if got := str(get(findByName(env, "NODE_NAME"), "valueFrom.fieldRef.fieldPath")); got != "spec.nodeName" {
		t.Errorf("NODE_NAME comes from %q, want the downward API's spec.nodeName", got)
	}
	for name, want := range map[string]string{"NVIDIA_VISIBLE_DEVICES": "all", "NVIDIA_DRIVER_CAPABILITIES": "compute,utility"} {
		if got := str(get(findByName(env, name), "value")); got != want {
			t.Errorf("agent env %s = %q, want %q", name, got, want)
		}
	}

	// Every host path at the same path in the container: the CDI specs the agent
	// writes name host paths, and the kubelet finds the agent's socket where it
	// put it.
	hostPaths := volumeHostPaths(t, ds)
	mounts := mountsByPath(ds)
	for path, wantType := range map[string]string{
		"/var/lib/kubelet/device-plugins": "Directory",
		"/var/lib/kubelet/pod-resources":  "Directory", // the directory: the socket is re-created on kubelet restart
		"/var/run/cdi":                    "DirectoryOrCreate",
		"/run/mpshare/mps":                "DirectoryOrCreate",
	} {
		m, ok := mounts[path]
		if !ok {
			t.Errorf("agent does not mount %s; mounts %v", path, mounts)
			continue
		}
		hp, ok := hostPaths[str(m["name"])]
		if !ok || hp[0] != path || hp[1] != wantType {
			t.Errorf("mount %s is volume %v, want hostPath %s of type %s", path, hp, path, wantType)
		}
	}
	if len(mounts) != 4 || len(hostPaths) != 4 {
		t.Errorf("agent mounts %d paths from %d hostPath volumes, want 4 and 4", len(mounts), len(hostPaths))
	}
	if got := str(mounts["/var/lib/kubelet/pod-resources"]["readOnly"]); got != "true" {
		t.Errorf("pod-resources mount readOnly = %s, want true", got)
	}
}

func TestNodeAgentRBAC(t *testing.T) {
	objs := renderObjects(t, Options{})
	role := objs.must(t, "ClusterRole/mpshare-node")
	rules, _ := get(role, "rules").([]interface{})
	granted := map[string][]string{} // "group/resource" -> verbs
	for _, r := range rules {
		groups, _ := get(r, "apiGroups").([]interface{})
		resources, _ := get(r, "resources").([]interface{})
		verbs, _ := get(r, "verbs").([]interface{})
		for _, g := range groups {
			for _, res := range resources {
				for _, v := range verbs {
					key := str(g) + "/" + str(res)
					granted[key] = append(granted[key], str(v))
				}
			}
		}
	}
	want := map[string]string{
		"/pods":                "get,list,watch,patch",
		"/nodes":               "get,patch",
		"/events":              "create",
		"events.k8s.io/events": "create",
	}
	for key, verbs := range want {
		if got := strings.Join(granted[key], ","); got != verbs {
			t.Errorf("ClusterRole mpshare-node grants %s: %q, want %q", key, got, verbs)
		}
	}
	if len(granted) != len(want) {
		t.Errorf("ClusterRole mpshare-node grants %v, want only %v", granted, want)
	}
	runChecks(t, objs, []check{
		{"ClusterRoleBinding/mpshare-node", "roleRef.name", "mpshare-node"},
		{"ClusterRoleBinding/mpshare-node", "subjects.0.kind", "ServiceAccount"},
		{"ClusterRoleBinding/mpshare-node", "subjects.0.name", "mpshare-node"},
		{"ClusterRoleBinding/mpshare-node", "subjects.0.namespace", "mpshare"},
		{"ServiceAccount/mpshare-node", "metadata.namespace", "mpshare"},
	})
}

func TestNodeAgentOverrides(t *testing.T) {
	objs := renderObjects(t, Options{Set: []string{
		"nodeAgent.runtimeClassName=nvidia", "nodeAgent.kubeletRootDir=/var/lib/k0s/kubelet/",
		"nodeAgent.nvidiaCdiSpec=/etc/cdi/nvidia.yaml", "nodeAgent.clientsPerGpu=8",
		"nodeAgent.metricsPort=9500", "nodeAgent.extraArgs=[--inventory, /etc/mpshare/gpus.yaml]",
		"nodeAgent.image.repository=registry.example.com/mpshare-node", "nodeAgent.image.tag=dev",
		"managedNodeSelector.gpu=a100", "nodeAgent.priorityClassName=",
	}})
	ds := objs.must(t, kAgent)
	c := "spec.template.spec.containers.0."
	runChecks(t, objs, []check{
		{kAgent, "spec.template.spec.runtimeClassName", "nvidia"},
		{kAgent, "spec.template.spec.priorityClassName", "<absent>"},
		{kAgent, "spec.template.spec.nodeSelector", "gpu: a100 mpshare.io/mps: enabled"},
		{kAgent, c + "image", "registry.example.com/mpshare-node:dev"},
		{kAgent, c + "ports.0.containerPort", "9500"},
	})
	args := get(ds, c+"args")
	for flag, want := range map[string]string{
		"--device-plugin-dir":    "/var/lib/k0s/kubelet/device-plugins/",
		"--pod-resources-socket": "/var/lib/k0s/kubelet/pod-resources/kubelet.sock",
		"--nvidia-cdi-spec":      "/etc/cdi/nvidia.yaml",
		"--clients-per-gpu":      "8",
		"--metrics-listen":       "0.0.0.0:9500",
		"--inventory":            "/etc/mpshare/gpus.yaml",
	} {
		if got := flagValue(args, flag); got != want {
			t.Errorf("mpshare-node %s = %q, want %q", flag, got, want)
		}
	}
	// A spec outside the CDI directory is mounted too, read-only.
	m, ok := mountsByPath(ds)["/etc/cdi"]
	if !ok || str(m["readOnly"]) != "true" {
		t.Errorf("the NVIDIA CDI spec's directory /etc/cdi is not mounted read-only: %v", m)
	}
	if hp := volumeHostPaths(t, ds)[str(m["name"])]; hp[0] != "/etc/cdi" {
		t.Errorf("/etc/cdi mount comes from %v", hp)
	}
}

// The agent replaces the mps-daemon DaemonSet, and the webhook leaves the pipe to
// the agent's CDI edits; without the agent, both are as before.
func TestNodeAgentSwitchesTheDaemonAndTheWebhookPipe(t *testing.T) {
	cases := []struct {
		set           []string
		agent, daemon bool
		pipe          string
	}{
		{nil, true, false, "false"},
		{[]string{"nodeAgent.enabled=false"}, false, true, "<absent>"},
		{[]string{"nodeAgent.enabled=false", "mpsDaemon.enabled=false"}, false, false, "<absent>"},
		// Migration: the old daemon kept beside the agent for the pods started before.
		{[]string{"mpsDaemon.keepBesideNodeAgent=true"}, true, true, "false"},
		{[]string{"mpsDaemon.keepBesideNodeAgent=true", "mpsDaemon.enabled=false"}, true, false, "false"},
	}
	for _, tc := range cases {
		objs := renderObjects(t, Options{Set: tc.set})
		_, agent := objs[kAgent]
		_, daemon := objs[kDaemon]
		_, role := objs["ClusterRole/mpshare-node"]
		if agent != tc.agent || role != tc.agent || daemon != tc.daemon {
			t.Errorf("--set %v: agent %v (role %v), mps-daemon %v; want agent %v, mps-daemon %v",
				tc.set, agent, role, daemon, tc.agent, tc.daemon)
		}
		cfg := embedded(t, objs, "mpshare-webhook", "webhook.yaml")
		runChecks(t, objects{"cfg/x": cfg}, []check{
			{"cfg/x", "webhook.daemonAccess.pipe", tc.pipe},
			{"cfg/x", "webhook.daemonAccess.inject", "true"},
		})
	}
}

// During the migration the kept mps-daemon DaemonSet must be exactly the one
// that ran before, or the upgrade would roll it and end the running pods' servers.
func TestKeptMpsDaemonIsUnchanged(t *testing.T) {
	before := renderObjects(t, Options{Set: []string{"nodeAgent.enabled=false"}}).must(t, kDaemon)
	kept := renderObjects(t, Options{Set: []string{"mpsDaemon.keepBesideNodeAgent=true"}}).must(t, kDaemon)
	if str(before) != str(kept) {
		t.Errorf("the kept mps-daemon DaemonSet differs from the one without the agent:\n%s\n%s", str(before), str(kept))
	}
}

// The extender and the webhook must count the agent's resource as a GPU request.
func TestNodeAgentResourceIsAGpuResource(t *testing.T) {
	objs := renderObjects(t, Options{})
	resource := flagValue(get(objs.must(t, kAgent), "spec.template.spec.containers.0.args"), "--resource-name")
	ext := embedded(t, objs, "mpshare-extender", "extender.yaml")
	mustContain(t, "extender gpuResourceNames", get(ext, "extender.gpuResourceNames"), resource)
	wh := embedded(t, objs, "mpshare-webhook", "webhook.yaml")
	mustContain(t, "webhook gpuResourceNames", get(wh, "webhook.gpuResourceNames"), resource)
	sc := embedded(t, objs, "mpshare-scheduler", kSchedulerDataKey)
	if findByName(get(sc, "extenders.0.managedResources"), resource) == nil {
		t.Errorf("the scheduler's managedResources lack %s", resource)
	}
}
