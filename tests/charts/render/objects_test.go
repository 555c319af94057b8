package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	yaml "gopkg.in/yaml.v3"
)

// repoRoot is where `go test` runs this package from: tests/charts/render.
var repoRoot = filepath.Join("..", "..", "..")

type object = map[string]interface{}

// objects holds a render's manifests parsed as YAML documents, keyed "Kind/name".
type objects map[string]object

func renderObjects(t *testing.T, opts Options) objects {
	t.Helper()
	if opts.ReleaseName == "" {
		opts.ReleaseName, opts.Namespace = "mpshare", "mpshare"
	}
	manifests, err := Render(filepath.Join(repoRoot, kChartDir), opts)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	out := objects{}
	for _, m := range manifests {
		if strings.HasSuffix(m.Source, "NOTES.txt") {
			continue
		}
		dec := yaml.NewDecoder(strings.NewReader(m.Content))
		for {
			var doc object
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s is not valid YAML: %v\n%s", m.Source, err, m.Content)
			}
			if doc == nil {
				continue
			}
			kind, _ := doc["kind"].(string)
			name, _ := get(doc, "metadata.name").(string)
			if kind == "" || name == "" || doc["apiVersion"] == nil {
				t.Fatalf("%s: a document without apiVersion/kind/metadata.name:\n%s", m.Source, m.Content)
			}
			key := kind + "/" + name
			if _, dup := out[key]; dup {
				t.Fatalf("%s rendered twice", key)
			}
			out[key] = doc
		}
	}
	return out
}

func (o objects) must(t *testing.T, key string) object {
	t.Helper()
	obj, ok := o[key]
	if !ok {
		t.Fatalf("no %s in the render; have %v", key, o.keys())
	}
	return obj
}

func (o objects) keys() []string {
	var k []string
	for key := range o {
		k = append(k, key)
	}
	return k
}

// get walks a dotted path; a numeric segment indexes a list. nil when absent.
func get(v interface{}, path string) interface{} {
	for _, seg := range strings.Split(path, ".") {
		switch node := v.(type) {
		case map[string]interface{}:
			v = node[seg]
		case []interface{}:
			i, err := strconv.Atoi(seg)
			if err != nil || i >= len(node) {
				return nil
			}
			v = node[i]
		default:
			return nil
		}
	}
	return v
}

// str renders any value the way a reader of the manifest would write it.
func str(v interface{}) string {
	if v == nil {
		return "<absent>"
	}
	if s, ok := v.(string); ok {
		return s
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	_ = enc.Encode(v)
	return strings.Join(strings.Fields(buf.String()), " ")
}

// check is one expectation: at Object (Kind/name), Path holds Want.
type check struct{ Object, Path, Want string }

func runChecks(t *testing.T, objs objects, checks []check) {
	t.Helper()
	for _, c := range checks {
		got := str(get(objs.must(t, c.Object), c.Path))
		if got != c.Want {
			t.Errorf("%s %s = %q, want %q", c.Object, c.Path, got, c.Want)
		}
	}
}

// embedded parses a YAML file carried in a ConfigMap's data.
func embedded(t *testing.T, objs objects, configMap, key string) object {
	t.Helper()
	data, _ := get(objs.must(t, "ConfigMap/"+configMap), "data").(map[string]interface{})
	text, ok := data[key].(string)
	if !ok {
		t.Fatalf("ConfigMap/%s has no data key %s", configMap, key)
	}
	var doc object
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatalf("ConfigMap/%s %s is not valid YAML: %v", configMap, key, err)
	}
	return doc
}

func findByName(list interface{}, name string) object {
	items, _ := list.([]interface{})
	for _, item := range items {
		if m, ok := item.(map[string]interface{}); ok && m["name"] == name {
			return m
		}
	}
	return nil
}

func mustContain(t *testing.T, what string, list interface{}, want ...string) {
	t.Helper()
	items, _ := list.([]interface{})
	for _, w := range want {
		found := false
		for _, item := range items {
			if fmt.Sprint(item) == w {
				found = true
			}
		}
		if !found {
			t.Errorf("%s = %v, want it to contain %q", what, items, w)
		}
	}
}
