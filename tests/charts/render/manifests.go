package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	yaml "gopkg.in/yaml.v3"
)

// The plain manifests under manifests/ are this chart rendered with
// manifests/install-values.yaml; a test re-renders them so they never drift.
// manifests/install/ is applied whole (kubectl apply -f DIR), so it holds nothing but
// Kubernetes objects, in files whose name order is a valid apply order. The
// MutatingWebhookConfiguration lives only in manifests/webhook/: applied with the
// rest, it would refuse pod creation cluster-wide until the webhook answers.
const (
	kChartDir          = "charts/mpshare"
	kPlainValues       = "manifests/install-values.yaml"
	kInstallDir        = "manifests/install"
	kWebhookReference  = "manifests/webhook/mutating-webhook-configuration.yaml"
	kSchedulerConfig   = "manifests/scheduler/kube-scheduler-config.yaml"
	kWebhookTemplate   = "webhook-mutatingwebhookconfiguration.yaml"
	kSchedulerTemplate = "scheduler-configmap.yaml"
	kSchedulerDataKey  = "kube-scheduler-config.yaml"
	kGeneratedHeader   = "# Generated from charts/mpshare with manifests/install-values.yaml by\n" +
		"# tests/charts/render (-write-manifests). Edit the chart, not this file.\n"
)

// kubectl applies a directory's files in name order; the namespace must exist
// before the objects in it.
var kInstallFileNames = map[string]string{"namespace.yaml": "00-namespace.yaml"}

// PlainManifests renders the chart at repoRoot into the file set committed under
// manifests/: path relative to repoRoot -> content.
// Example: PlainManifests("/src/mpshare")["manifests/install/webhook-service.yaml"].
func PlainManifests(repoRoot string) (map[string]string, error) {
	rendered, err := Render(filepath.Join(repoRoot, kChartDir), Options{
		ReleaseName: "mpshare",
		Namespace:   "mpshare",
		ValueFiles:  []string{filepath.Join(repoRoot, kPlainValues)},
	})
	if err != nil {
		return nil, err
	}
	files := map[string]string{}
	for _, m := range rendered {
		base := filepath.Base(m.Source)
		if base == "NOTES.txt" {
			continue
		}
		if base != kWebhookTemplate {
			name := base
			if renamed, ok := kInstallFileNames[base]; ok {
				name = renamed
			}
			files[filepath.Join(kInstallDir, name)] = kGeneratedHeader + strings.TrimLeft(m.Content, "\n")
		}
		switch base {
		case kWebhookTemplate:
			files[kWebhookReference] = kGeneratedHeader + strings.TrimLeft(m.Content, "\n")
		case kSchedulerTemplate:
			var cm struct {
				Data map[string]string `yaml:"data"`
			}
			if err := yaml.Unmarshal([]byte(m.Content), &cm); err != nil {
				return nil, fmt.Errorf("%s: %w", base, err)
			}
			cfg, ok := cm.Data[kSchedulerDataKey]
			if !ok {
				return nil, fmt.Errorf("%s: no data key %q", base, kSchedulerDataKey)
			}
			files[kSchedulerConfig] = kGeneratedHeader + cfg
		}
	}
	for _, want := range []string{kWebhookReference, kSchedulerConfig} {
		if _, ok := files[want]; !ok {
			return nil, fmt.Errorf("the plain values rendered no %s", want)
		}
	}
	return files, nil
}

// writeManifests replaces the generated files under repoRoot/manifests.
func writeManifests(repoRoot string) error {
	files, err := PlainManifests(repoRoot)
	if err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(repoRoot, kInstallDir, "*.yaml"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	for rel, content := range files {
		path := filepath.Join(repoRoot, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}
