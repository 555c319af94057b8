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

{{/*
webhook.yaml: see docs/webhook.md. With the node agent the pipe comes from its
per-slot CDI edits (the GPU is known only at container start), so the webhook adds
hostIPC and the limits but no pipe volume, mount or CUDA_MPS_PIPE_DIRECTORY.
*/}}
{{- define "mpshare.webhook.config" -}}
{{- $daemon := mergeOverwrite (deepCopy (default (dict) .Values.webhook.config.daemonAccess)) (dict "pipeDirectory" .Values.mps.pipeDirectory) -}}
{{- if .Values.nodeAgent.enabled -}}
{{- $_ := set $daemon "pipe" false -}}
{{- end -}}
{{- $shared := mergeOverwrite (include "mpshare.podDefaults" . | fromYaml) (dict "gpuResourceNames" .Values.gpuResourceNames "daemonAccess" $daemon) -}}
{{- toYaml (dict "webhook" (mergeOverwrite (deepCopy .Values.webhook.config) $shared)) -}}
{{- end -}}

{{/*
extender.yaml: see docs/extender.md. plan.schedulerName left empty is the chart's
own scheduler, whose pods are the ones the extender is asked about.
*/}}
{{- define "mpshare.extender.config" -}}
{{- $config := deepCopy .Values.extender.config -}}
{{- $plan := default (dict) $config.plan -}}
{{- $_ := set $plan "schedulerName" (default .Values.scheduler.name $plan.schedulerName) -}}
{{- $_ := set $config "plan" $plan -}}
{{- $shared := mergeOverwrite (include "mpshare.podDefaults" . | fromYaml) (dict "gpuResourceNames" .Values.gpuResourceNames "nodeSelector" .Values.managedNodeSelector "urlPrefix" .Values.extender.pathPrefix) -}}
{{- toYaml (dict "extender" (mergeOverwrite $config $shared)) -}}
{{- end -}}
