package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// selects reports whether a rendered LabelSelector (matchLabels and matchExpressions
// with In, NotIn, Exists, DoesNotExist) selects an object with these labels, as the
// API server evaluates a webhook's namespaceSelector.
func selects(t *testing.T, selector interface{}, labels map[string]string) bool {
	t.Helper()
	sel, _ := selector.(map[string]interface{})
	if sel == nil {
		return true
	}
	if ml, ok := sel["matchLabels"].(map[string]interface{}); ok {
		for k, v := range ml {
			if have, ok := labels[k]; !ok || have != str(v) {
				return false
			}
		}
	}
	exprs, _ := sel["matchExpressions"].([]interface{})
	for _, e := range exprs {
		key, op := str(get(e, "key")), str(get(e, "operator"))
		values := map[string]bool{}
		list, _ := get(e, "values").([]interface{})
		for _, v := range list {
			values[str(v)] = true
		}
		have, ok := labels[key]
		switch op {
		case "In":
			if !ok || !values[have] {
				return false
			}
		case "NotIn":
			if ok && values[have] {
				return false
			}
		case "Exists":
			if !ok {
				return false
			}
		case "DoesNotExist":
			if ok {
				return false
			}
		default:
			t.Fatalf("unknown selector operator %q", op)
		}
	}
	return true
}

// namespace is the labels the API server gives a namespace: its name always, as
// kubernetes.io/metadata.name, plus extra key=value pairs.
func namespace(name string, extra ...string) map[string]string {
	labels := map[string]string{"kubernetes.io/metadata.name": name}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		labels[k] = v
	}
	return labels
}

type selectionCase struct {
	labels map[string]string
	want   bool
}

func checkSelection(t *testing.T, what string, objs objects, mwc string, cases []selectionCase) {
	t.Helper()
	sel := get(objs.must(t, mwc), "webhooks.0.namespaceSelector")
	for _, c := range cases {
		if got := selects(t, sel, c.labels); got != c.want {
			t.Errorf("%s: namespace %v selected = %v, want %v (selector %s)", what, c.labels, got, c.want, str(sel))
		}
	}
}

// By default only namespaces that opt in are sent to the webhook: a GPU pod
// anywhere else is never mutated and runs as any pod.
func TestWebhookSelectsOnlyOptedInNamespacesByDefault(t *testing.T) {
	objs := renderObjects(t, Options{})
	runChecks(t, objs, []check{
		{kMWC, "webhooks.0.namespaceSelector.matchLabels", "mpshare.io/enabled: \"true\""},
		// The release namespace and kube-system stay out even when labelled.
		{kMWC, "webhooks.0.namespaceSelector.matchExpressions", "- key: kubernetes.io/metadata.name operator: NotIn values: - mpshare - kube-system"},
		{kMWC, "webhooks.0.objectSelector", "<absent>"},
		{kMWC, "webhooks.0.matchConditions", "<absent>"},
	})
	checkSelection(t, "default", objs, kMWC, []selectionCase{
		{namespace("ml"), false},
		{namespace("default"), false},
		{namespace("ml", "mpshare.io/enabled=false"), false},
		{namespace("ml", "mpshare.io/enabled=true"), true},
		{namespace("ml", "mpshare.io/enabled=true", "pod-security.kubernetes.io/enforce=privileged"), true},
		{namespace("mpshare", "mpshare.io/enabled=true"), false},
		{namespace("kube-system", "mpshare.io/enabled=true"), false},
	})
}

func TestOptInLabelCanBeChanged(t *testing.T) {
	objs := renderObjects(t, Options{Set: []string{
		"webhook.optInLabel.key=example.com/gpu-sharing", "webhook.optInLabel.value=on",
	}})
	// The label replaces the default one: values are scalars, so nothing merges.
	runChecks(t, objs, []check{{kMWC, "webhooks.0.namespaceSelector.matchLabels", "example.com/gpu-sharing: \"on\""}})
	checkSelection(t, "changed label", objs, kMWC, []selectionCase{
		{namespace("ml", "mpshare.io/enabled=true"), false},
		{namespace("ml", "example.com/gpu-sharing=on"), true},
	})
	// A boolean from --set still renders as the string a label value is.
	objs = renderObjects(t, Options{Set: []string{"webhook.optInLabel.value=true"}})
	runChecks(t, objs, []check{{kMWC, "webhooks.0.namespaceSelector.matchLabels", "mpshare.io/enabled: \"true\""}})
}

// namespaceSelection: all is the behaviour before opt-in: every namespace but the
// excluded ones.
func TestAllNamespacesExceptExcludedOnRequest(t *testing.T) {
	objs := renderObjects(t, Options{Set: []string{
		"webhook.namespaceSelection=all", "webhook.excludeNamespaces=[monitoring]",
	}})
	runChecks(t, objs, []check{
		{kMWC, "webhooks.0.namespaceSelector.matchLabels", "<absent>"},
		{kMWC, "webhooks.0.namespaceSelector.matchExpressions.0.values", "- mpshare - kube-system - monitoring"},
	})
	checkSelection(t, "all", objs, kMWC, []selectionCase{
		{namespace("ml"), true},
		{namespace("default"), true},
		{namespace("mpshare"), false},
		{namespace("kube-system"), false},
		{namespace("monitoring", "mpshare.io/enabled=true"), false},
	})
}

// Extra selector terms are ANDed with the opt-in label and the exclusion.
func TestExtraNamespaceSelectorTerms(t *testing.T) {
	objs := renderObjects(t, Options{Set: []string{
		"webhook.namespaceSelector.matchLabels.team=ml",
		"webhook.excludeNamespaces=[sandbox]",
	}})
	checkSelection(t, "extra terms", objs, kMWC, []selectionCase{
		{namespace("a", "team=ml"), false},
		{namespace("a", "mpshare.io/enabled=true"), false},
		{namespace("a", "mpshare.io/enabled=true", "team=ml"), true},
		{namespace("sandbox", "mpshare.io/enabled=true", "team=ml"), false},
	})
}

func TestMatchConditionsOnlyWhenEnabled(t *testing.T) {
	const want = "(has(object.spec.schedulerName) && object.spec.schedulerName == 'mpshare-scheduler') || " +
		"(has(object.metadata.annotations) && object.metadata.annotations.exists(k, k.startsWith('mpshare.io/')))"
	for _, kube := range []string{"v1.28.0", "v1.30.2", "1.31"} {
		objs := renderObjects(t, Options{KubeVersion: kube, Set: []string{"webhook.matchConditions.enabled=true"}})
		runChecks(t, objs, []check{
			{kMWC, "webhooks.0.matchConditions.0.name", "mpshare-scheduler-or-annotations"},
			{kMWC, "webhooks.0.matchConditions.0.expression", want},
			{kMWC, "webhooks.0.matchConditions.1", "<absent>"},
			// The namespace opt-in still applies.
			{kMWC, "webhooks.0.namespaceSelector.matchLabels", "mpshare.io/enabled: \"true\""},
		})
	}
	// The scheduler's name is the one pods opt in with.
	objs := renderObjects(t, Options{Set: []string{"webhook.matchConditions.enabled=true", "scheduler.name=gpu-packer"}})
	if got := str(get(objs.must(t, kMWC), "webhooks.0.matchConditions.0.expression")); !strings.Contains(got, "object.spec.schedulerName == 'gpu-packer'") {
		t.Errorf("matchCondition %q does not name scheduler gpu-packer", got)
	}
	// Off by default, whatever the cluster's version.
	for _, kube := range []string{"v1.25.0", "v1.30.0"} {
		runChecks(t, renderObjects(t, Options{KubeVersion: kube}), []check{{kMWC, "webhooks.0.matchConditions", "<absent>"}})
	}
	// Asked for on a cluster without matchConditions: the render fails naming the value.
	_, err := Render(filepath.Join(repoRoot, kChartDir), Options{
		ReleaseName: "m", Namespace: "m", KubeVersion: "v1.27.9", Set: []string{"webhook.matchConditions.enabled=true"},
	})
	if want := "webhook.matchConditions.enabled needs Kubernetes 1.28 or newer"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("matchConditions on 1.27: error %v, want it to contain %q", err, want)
	}
}
