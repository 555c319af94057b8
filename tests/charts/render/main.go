package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

const kUsage = `usage:
  render [-name N] [-namespace NS] [-f values.yaml]... [-set a.b=v]... [-kube-version V] CHART_DIR
      print the chart's manifests like "helm template" (NOTES.txt last, as a comment)
  render -write-manifests REPO_ROOT
      regenerate manifests/install, manifests/webhook and manifests/scheduler
`

func main() {
	var valueFiles, sets, apis listFlag
	name := flag.String("name", "mpshare", "release name")
	namespace := flag.String("namespace", "mpshare", "release namespace")
	write := flag.String("write-manifests", "", "repository root whose manifests/ to regenerate")
	flag.Var(&valueFiles, "f", "values file merged over the chart's values.yaml (repeatable)")
	flag.Var(&sets, "set", "key.path=value override (repeatable)")
	flag.Var(&apis, "api-versions", "API version the cluster offers, e.g. monitoring.coreos.com/v1 (repeatable)")
	kube := flag.String("kube-version", kDefaultKubeVersion, "cluster version for .Capabilities.KubeVersion, e.g. v1.28.3")
	flag.Usage = func() { fmt.Fprint(os.Stderr, kUsage); flag.PrintDefaults() }
	flag.Parse()
	// Accept flags after the chart directory too, as helm does.
	var positional []string
	for flag.NArg() > 0 {
		positional = append(positional, flag.Arg(0))
		if err := flag.CommandLine.Parse(flag.Args()[1:]); err != nil {
			os.Exit(2)
		}
	}

	if *write != "" {
		if err := writeManifests(*write); err != nil {
			fmt.Fprintln(os.Stderr, "render:", err)
			os.Exit(1)
		}
		return
	}
	if len(positional) != 1 {
		flag.Usage()
		os.Exit(2)
	}
	manifests, err := Render(positional[0], Options{
		ReleaseName: *name, Namespace: *namespace, ValueFiles: valueFiles, Set: sets, APIVersions: apis,
		KubeVersion: *kube,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
	var notes string
	for _, m := range manifests {
		if strings.HasSuffix(m.Source, "/NOTES.txt") {
			notes = m.Content
			continue
		}
		fmt.Printf("---\n# Source: %s\n%s\n", m.Source, strings.Trim(m.Content, "\n"))
	}
	if notes != "" {
		fmt.Printf("\n# NOTES:\n# %s\n", strings.ReplaceAll(strings.TrimSpace(notes), "\n", "\n# "))
	}
}
