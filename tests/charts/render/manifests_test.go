package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	yaml "gopkg.in/yaml.v3"
)

// `kubectl apply -f manifests/install/` reads every .yaml/.yml/.json file of the
// folder in name order and applies each object in turn. It must succeed on a cluster
// with cert-manager: every document is an object (kubectl rejects one without a
// kind), each namespace exists before anything is put in it, and nothing in the
// folder blocks pod creation before the webhook answers.
func TestInstallFolderAppliesInNameOrder(t *testing.T) {
	var paths []string
	for _, pattern := range []string{"*.yaml", "*.yml", "*.json"} {
		found, _ := filepath.Glob(filepath.Join(repoRoot, kInstallDir, pattern))
		paths = append(paths, found...)
	}
	sort.Strings(paths)
	if len(paths) == 0 {
		t.Fatalf("no manifests in %s", kInstallDir)
	}
	created := map[string]bool{"kube-system": true, "default": true} // every cluster has these
	for _, path := range paths {
		name := filepath.Base(path)
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(raw)))
		for {
			var doc object
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: not YAML: %v", name, err)
			}
			if doc == nil {
				continue
			}
			kind := str(doc["kind"])
			if doc["kind"] == nil || doc["apiVersion"] == nil || get(doc, "metadata.name") == nil {
				t.Errorf("%s: a document without apiVersion, kind and metadata.name; kubectl would reject it", name)
				continue
			}
			switch kind {
			case "Namespace":
				created[str(get(doc, "metadata.name"))] = true
			case "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration":
				t.Errorf("%s: %s belongs in manifests/webhook/, applied once the webhook is ready", name, kind)
			}
			if ns := get(doc, "metadata.namespace"); ns != nil && !created[str(ns)] {
				t.Errorf("%s: %s/%s goes into namespace %s before a file that creates it",
					name, kind, str(get(doc, "metadata.name")), str(ns))
			}
		}
	}
}
