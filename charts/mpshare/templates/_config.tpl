{{/*
The components' config files. Keys both components read (resource names, pod
defaults) come from shared values, so the webhook and the extender cannot disagree
about what a pod asks for; shared values win over the per-component config maps.
*/}}

{{- define "mpshare.podDefaults" -}}
{{- $d := dict "minMemoryLimit" .Values.podDefaults.minMemoryLimit -}}
{{- with .Values.podDefaults.threadPercentage }}{{ $_ := set $d "defaultThreadPercentage" . }}{{ end -}}
{{- with .Values.podDefaults.memoryLimit }}{{ $_ := set $d "defaultMemoryLimit" . }}{{ end -}}
{{- toYaml $d -}}
{{- end -}}

{{/* webhook.yaml: see docs/webhook.md. */}}
{{- define "mpshare.webhook.config" -}}
{{- $daemon := mergeOverwrite (deepCopy (default (dict) .Values.webhook.config.daemonAccess)) (dict "pipeDirectory" .Values.mps.pipeDirectory) -}}
{{- $shared := mergeOverwrite (include "mpshare.podDefaults" . | fromYaml) (dict "gpuResourceNames" .Values.gpuResourceNames "daemonAccess" $daemon) -}}
{{- toYaml (dict "webhook" (mergeOverwrite (deepCopy .Values.webhook.config) $shared)) -}}
{{- end -}}

{{/* extender.yaml: see docs/extender.md. */}}
{{- define "mpshare.extender.config" -}}
{{- $shared := mergeOverwrite (include "mpshare.podDefaults" . | fromYaml) (dict "gpuResourceNames" .Values.gpuResourceNames "nodeSelector" .Values.managedNodeSelector "urlPrefix" .Values.extender.pathPrefix) -}}
{{- toYaml (dict "extender" (mergeOverwrite (deepCopy .Values.extender.config) $shared)) -}}
{{- end -}}
