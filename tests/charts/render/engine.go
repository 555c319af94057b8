// Package main renders a Helm chart the way `helm template` does, offline, with the
// same template language: Go text/template, the sprig function library, and Helm's
// own functions (include, tpl, required, toYaml, fromYaml, toJson, lookup). It exists
// because the chart must be testable and the plain manifests reproducible on a
// machine without Helm.
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	sprig "github.com/Masterminds/sprig"
	yamlv2 "gopkg.in/yaml.v2"
	yaml "gopkg.in/yaml.v3"
)

// Release mirrors the fields of Helm's .Release that charts commonly read.
type Release struct {
	Name      string
	Namespace string
	Service   string
	IsInstall bool
	IsUpgrade bool
	Revision  int
}

// Chart mirrors Chart.yaml with Helm's capitalised field names (.Chart.Name, ...).
type Chart struct {
	APIVersion  string `yaml:"apiVersion"`
	Name        string `yaml:"name"`
	Version     string `yaml:"version"`
	AppVersion  string `yaml:"appVersion"`
	Description string `yaml:"description"`
	KubeVersion string `yaml:"kubeVersion"`
	Type        string `yaml:"type"`
}

// Manifest is one rendered template: its chart-relative path and its text.
type Manifest struct {
	Source  string
	Content string
}

// Options are the inputs `helm template` takes on its command line.
type Options struct {
	ReleaseName string
	Namespace   string
	ValueFiles  []string // merged in order over values.yaml, like -f
	Set         []string // key.path=value, applied last, like --set
	APIVersions []string // what .Capabilities.APIVersions.Has answers true for
	KubeVersion string   // .Capabilities.KubeVersion, like --kube-version; "" = kDefaultKubeVersion
}

// kDefaultKubeVersion is the cluster version a render assumes unless told, as
// `helm template` assumes its own built-in one.
const kDefaultKubeVersion = "v1.30.0"

// Render renders every template of the chart at chartDir. Files starting with "_"
// only define named templates; empty results are dropped, as Helm does.
// Example: Render("charts/mpshare", Options{ReleaseName: "mpshare", Namespace: "mpshare"}).
func Render(chartDir string, opts Options) ([]Manifest, error) {
	chart, err := loadChart(chartDir)
	if err != nil {
		return nil, err
	}
	values, err := loadValues(chartDir, opts)
	if err != nil {
		return nil, err
	}
	// Like helm, refuse values the schema refuses before rendering anything.
	schema, err := loadSchema(chartDir)
	if err != nil {
		return nil, err
	}
	if schema != nil {
		if err := validateValues(schema, values); err != nil {
			return nil, err
		}
	}
	kube, err := kubeVersion(opts.KubeVersion)
	if err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(chartDir, "templates", "*"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)

	root := template.New("root").Option("missingkey=zero")
	root.Funcs(funcMap(root))
	var renderable []string
	for _, f := range files {
		base := filepath.Base(f)
		if !(strings.HasSuffix(base, ".yaml") || strings.HasSuffix(base, ".tpl") ||
			base == "NOTES.txt") {
			continue
		}
		text, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		name := chart.Name + "/templates/" + base
		if _, err := root.New(name).Parse(string(text)); err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		if !strings.HasPrefix(base, "_") {
			renderable = append(renderable, name)
		}
	}

	top := map[string]interface{}{
		"Values":  values,
		"Chart":   chart,
		"Release": Release{Name: opts.ReleaseName, Namespace: opts.Namespace, Service: "Helm", IsInstall: true, Revision: 1},
		"Capabilities": map[string]interface{}{
			"APIVersions": apiVersions(opts.APIVersions),
			"KubeVersion": kube,
		},
	}
	var out []Manifest
	for _, name := range renderable {
		top["Template"] = map[string]string{"Name": name, "BasePath": chart.Name + "/templates"}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, top); err != nil {
			return nil, fmt.Errorf("render %s: %w", name, err)
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if strings.TrimSpace(text) == "" {
			continue
		}
		out = append(out, Manifest{Source: name, Content: text})
	}
	return out, nil
}

// kubeVersion reads "1.28", "v1.28.3" or "v1.27.3-gke.100" into Helm's
// .Capabilities.KubeVersion fields (Version, GitVersion, Major, Minor).
func kubeVersion(text string) (map[string]string, error) {
	if text == "" {
		text = kDefaultKubeVersion
	}
	v := strings.TrimPrefix(text, "v")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" ||
		strings.Trim(parts[0]+parts[1], "0123456789") != "" {
		return nil, fmt.Errorf("kube version %q: want MAJOR.MINOR[.PATCH], e.g. v1.28.3", text)
	}
	if len(parts) == 2 {
		v += ".0"
	}
	return map[string]string{"Version": "v" + v, "GitVersion": "v" + v, "Major": parts[0], "Minor": parts[1]}, nil
}

// apiVersions answers .Capabilities.APIVersions.Has like Helm: by group/version or
// group/version/Kind.
type apiVersions []string

func (a apiVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

func loadChart(dir string) (Chart, error) {
	var c Chart
	raw, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return c, err
	}
	if err := yaml.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("Chart.yaml: %w", err)
	}
	if c.Name == "" || c.Version == "" {
		return c, fmt.Errorf("Chart.yaml: name and version are required")
	}
	return c, nil
}

func loadValues(dir string, opts Options) (map[string]interface{}, error) {
	values, err := readYAMLMap(filepath.Join(dir, "values.yaml"))
	if err != nil {
		return nil, err
	}
	for _, f := range opts.ValueFiles {
		override, err := readYAMLMap(f)
		if err != nil {
			return nil, err
		}
		values = mergeValues(values, override)
	}
	for _, kv := range opts.Set {
		if err := setValue(values, kv); err != nil {
			return nil, err
		}
	}
	return values, nil
}

func readYAMLMap(path string) (map[string]interface{}, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]interface{}{}
	if err := yaml.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// mergeValues deep-merges override onto base the way Helm coalesces values: maps
// merge key by key, anything else replaces, and an explicit null deletes the key.
func mergeValues(base, override map[string]interface{}) map[string]interface{} {
	out := map[string]interface{}{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range override {
		if v == nil {
			delete(out, k)
			continue
		}
		bm, bok := out[k].(map[string]interface{})
		om, ook := v.(map[string]interface{})
		if bok && ook {
			out[k] = mergeValues(bm, om)
		} else {
			out[k] = v
		}
	}
	return out
}

// setValue applies one --set style "a.b.c=value" ("a.b\.c=value" for a key with a
// dot). The value is read as YAML so "true", "3" and "[a, b]" get their natural
// types (a subset of Helm's --set syntax), with Helm's --set typing where the two
// differ: a number with a fraction ("0.5") stays a string, an empty value is "",
// and null deletes the key (so the chart's default is gone, as when Helm
// coalesces a null).
func setValue(values map[string]interface{}, kv string) error {
	eq := strings.IndexByte(kv, '=')
	if eq <= 0 {
		return fmt.Errorf("--set %q: want key.path=value", kv)
	}
	text := kv[eq+1:]
	var v interface{}
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		return fmt.Errorf("--set %q: %w", kv, err)
	}
	if _, isFloat := v.(float64); isFloat || text == "" {
		v = text
	}
	path := splitKeyPath(kv[:eq])
	m := values
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]interface{})
		if !ok {
			next = map[string]interface{}{}
			m[p] = next
		}
		m = next
	}
	if v == nil {
		delete(m, path[len(path)-1])
		return nil
	}
	m[path[len(path)-1]] = v
	return nil
}

// splitKeyPath splits "a.b\.c" into [a, b.c]: like Helm, a backslash keeps a dot
// in the key (label keys such as mpshare\.io/mps).
func splitKeyPath(key string) []string {
	const hold = "\x00"
	parts := strings.Split(strings.ReplaceAll(key, `\.`, hold), ".")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(p, hold, ".")
	}
	return parts
}

// funcMap is sprig's text function map plus Helm's additions. env/expandenv are
// removed, as Helm does, so a render never depends on the caller's environment.
func funcMap(root *template.Template) template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	f["toYaml"] = toYAML
	f["fromYaml"] = fromYAML
	f["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil || v == "" {
			return nil, fmt.Errorf("%s", msg)
		}
		return v, nil
	}
	f["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	f["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	// Without a cluster there is nothing to look up; Helm's own `helm template`
	// answers an empty map too, so charts must treat that as "not installed yet".
	f["lookup"] = func(apiVersion, kind, namespace, name string) map[string]interface{} {
		return map[string]interface{}{}
	}
	return f
}

// toYAML matches Helm's toYaml: sorted keys, no trailing newline, "" on error.
func toYAML(v interface{}) string {
	data, err := yamlv2.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}

func fromYAML(text string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(text), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}
