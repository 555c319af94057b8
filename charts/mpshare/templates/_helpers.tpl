{{/* Chart name, overridable. */}}
{{- define "mpshare.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Resource-name prefix: the release name, plus the chart name unless already in it. */}}
{{- define "mpshare.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "mpshare.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "mpshare.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "mpshare.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "webhook"). */}}
{{- define "mpshare.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mpshare.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Full labels of one component: (dict "root" $ "component" "webhook"). */}}
{{- define "mpshare.componentLabels" -}}
{{ include "mpshare.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "mpshare.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "mpshare.webhook.fullname" -}}
{{- printf "%s-webhook" (include "mpshare.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mpshare.webhook.tlsSecret" -}}
{{- printf "%s-tls" (include "mpshare.webhook.fullname" .) -}}
{{- end -}}

{{- define "mpshare.scheduler.fullname" -}}
{{- printf "%s-scheduler" (include "mpshare.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mpshare.extender.fullname" -}}
{{- printf "%s-extender" (include "mpshare.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The extender runs under the scheduler's ServiceAccount when it is a sidecar. */}}
{{- define "mpshare.extender.serviceAccount" -}}
{{- if eq .Values.extender.mode "sidecar" -}}
{{- include "mpshare.scheduler.fullname" . -}}
{{- else -}}
{{- include "mpshare.extender.fullname" . -}}
{{- end -}}
{{- end -}}

{{- define "mpshare.mpsDaemon.fullname" -}}
{{- printf "%s-mps-daemon" (include "mpshare.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* "true" when the mps-daemon DaemonSet is rendered: the node agent replaces it. */}}
{{- define "mpshare.mpsDaemon.rendered" -}}
{{- if and .Values.mpsDaemon.enabled (or (not .Values.nodeAgent.enabled) .Values.mpsDaemon.keepBesideNodeAgent) -}}
true
{{- end -}}
{{- end -}}

{{- define "mpshare.nodeAgent.fullname" -}}
{{- printf "%s-node" (include "mpshare.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fails the render on values that would install something broken. */}}
{{- define "mpshare.validate" -}}
{{- if not (has .Values.webhook.failurePolicy (list "Fail" "Ignore")) -}}
{{- fail (printf "webhook.failurePolicy must be Fail or Ignore, got %q" (toString .Values.webhook.failurePolicy)) -}}
{{- end -}}
{{- if not (has .Values.webhook.reinvocationPolicy (list "Never" "IfNeeded")) -}}
{{- fail (printf "webhook.reinvocationPolicy must be Never or IfNeeded, got %q" (toString .Values.webhook.reinvocationPolicy)) -}}
{{- end -}}
{{- $t := int .Values.webhook.timeoutSeconds -}}
{{- if or (lt $t 1) (gt $t 30) -}}
{{- fail (printf "webhook.timeoutSeconds must be 1-30, got %v" .Values.webhook.timeoutSeconds) -}}
{{- end -}}
{{- if not (has .Values.webhook.tls.mode (list "helm" "certManager")) -}}
{{- fail (printf "webhook.tls.mode must be helm or certManager, got %q" (toString .Values.webhook.tls.mode)) -}}
{{- end -}}
{{- if not (has .Values.extender.mode (list "sidecar" "deployment")) -}}
{{- fail (printf "extender.mode must be sidecar or deployment, got %q" (toString .Values.extender.mode)) -}}
{{- end -}}
{{- if lt (int .Values.scheduler.extender.weight) 1 -}}
{{- fail (printf "scheduler.extender.weight must be >= 1 (kube-scheduler requires it with a prioritize verb), got %v" .Values.scheduler.extender.weight) -}}
{{- end -}}
{{- if and .Values.scheduler.extender.enableHTTPS (eq .Values.extender.mode "sidecar") -}}
{{- fail "scheduler.extender.enableHTTPS needs extender.mode: deployment (the sidecar is reached on 127.0.0.1 over plain HTTP)" -}}
{{- end -}}
{{- if not (has .Values.extender.tls.mode (list "helm" "certManager")) -}}
{{- fail (printf "extender.tls.mode must be helm or certManager, got %q" (toString .Values.extender.tls.mode)) -}}
{{- end -}}
{{- if empty .Values.gpuResourceNames -}}
{{- fail "gpuResourceNames must list at least one resource name, e.g. nvidia.com/gpu" -}}
{{- end -}}
{{- if not (has .Values.webhook.namespaceSelection (list "optIn" "all")) -}}
{{- fail (printf "webhook.namespaceSelection must be optIn or all, got %q" (toString .Values.webhook.namespaceSelection)) -}}
{{- end -}}
{{- if and (eq .Values.webhook.namespaceSelection "optIn") (empty .Values.webhook.optInLabel.key) -}}
{{- fail "webhook.optInLabel.key must name a namespace label (e.g. mpshare.io/enabled) when webhook.namespaceSelection is optIn" -}}
{{- end -}}
{{- if and .Values.webhook.matchConditions.enabled (semverCompare "<1.28.0-0" .Capabilities.KubeVersion.Version) -}}
{{- fail (printf "webhook.matchConditions.enabled needs Kubernetes 1.28 or newer (admission matchConditions), the cluster is %s" .Capabilities.KubeVersion.Version) -}}
{{- end -}}
{{- if .Values.nodeAgent.enabled -}}
{{- if not (has .Values.nodeAgent.resourceName .Values.gpuResourceNames) -}}
{{- fail (printf "nodeAgent.resourceName %q must be one of gpuResourceNames %v, or the webhook and the extender ignore the agent's pods" (toString .Values.nodeAgent.resourceName) .Values.gpuResourceNames) -}}
{{- end -}}
{{- $c := int .Values.nodeAgent.clientsPerGpu -}}
{{- if or (lt $c 1) (gt $c 48) -}}
{{- fail (printf "nodeAgent.clientsPerGpu must be 1-48 (MPS's client limit), got %v" .Values.nodeAgent.clientsPerGpu) -}}
{{- end -}}
{{- if not .Values.webhook.config.daemonAccess.inject -}}
{{- fail "webhook.config.daemonAccess.inject: false (the capped mode under the device plugin's own MPS daemon) needs nodeAgent.enabled: false; the agent's MPS clients need the hostIPC the webhook injects" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "mpshare.extender.tlsSecret" -}}
{{- printf "%s-tls" (include "mpshare.extender.fullname" .) -}}
{{- end -}}

{{/* The scheduler calls a standalone extender over HTTPS (validated: deployment mode only). */}}
{{- define "mpshare.extender.https" -}}
{{- if and (eq .Values.extender.mode "deployment") (eq (toString .Values.scheduler.extender.enableHTTPS) "true") -}}
true
{{- end -}}
{{- end -}}

{{/*
TLS material for tls.mode=helm, generated once per render and cached in the
component's tls values, so every object that needs it (the Secret, the CA the
client trusts) carries the same CA. An existing Secret is reused so that upgrades do
not rotate the CA under running clients. Returns a dict {caCert, cert, key}.
Call with (dict "root" $ "tls" .Values.webhook.tls "service" NAME "secret" NAME).
*/}}
{{- define "mpshare.tlsMaterial" -}}
{{- $root := .root -}}
{{- if not (hasKey .tls "generated") -}}
{{- $existing := lookup "v1" "Secret" $root.Release.Namespace .secret -}}
{{- if and $existing $existing.data (hasKey $existing.data "ca.crt") -}}
{{- $_ := set .tls "generated" (dict "caCert" (index $existing.data "ca.crt" | b64dec) "cert" (index $existing.data "tls.crt" | b64dec) "key" (index $existing.data "tls.key" | b64dec)) -}}
{{- else -}}
{{- $svc := .service -}}
{{- $ns := $root.Release.Namespace -}}
{{- $days := int .tls.validityDays -}}
{{- $ca := genCA (printf "%s-ca" $svc) $days -}}
{{- $dns := list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) -}}
{{- $cert := genSignedCert (printf "%s.%s.svc" $svc $ns) nil $dns $days $ca -}}
{{- $_ := set .tls "generated" (dict "caCert" $ca.Cert "cert" $cert.Cert "key" $cert.Key) -}}
{{- end -}}
{{- end -}}
{{- toYaml .tls.generated -}}
{{- end -}}

{{/* Webhook TLS material for webhook.tls.mode=helm (Secret and caBundle). */}}
{{- define "mpshare.webhook.tlsMaterial" -}}
{{- include "mpshare.tlsMaterial" (dict "root" . "tls" .Values.webhook.tls "service" (include "mpshare.webhook.fullname" .) "secret" (include "mpshare.webhook.tlsSecret" .)) -}}
{{- end -}}

{{/* Extender TLS material for extender.tls.mode=helm (Secret and the scheduler's CA). */}}
{{- define "mpshare.extender.tlsMaterial" -}}
{{- include "mpshare.tlsMaterial" (dict "root" . "tls" .Values.extender.tls "service" (include "mpshare.extender.fullname" .) "secret" (include "mpshare.extender.tlsSecret" .)) -}}
{{- end -}}

{{/*
The webhook's CEL matchCondition: pods placed by the mpshare scheduler, or carrying
an mpshare.io/ annotation (so a typo is still denied, whatever the scheduler).
*/}}
{{- define "mpshare.webhook.matchExpression" -}}
{{- printf "(has(object.spec.schedulerName) && object.spec.schedulerName == '%s') || (has(object.metadata.annotations) && object.metadata.annotations.exists(k, k.startsWith('mpshare.io/')))" .Values.scheduler.name -}}
{{- end -}}
