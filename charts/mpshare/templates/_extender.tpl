{{/*
The extender container, shared by the sidecar and the standalone Deployment:
(dict "root" $ "listen" "127.0.0.1:8888" "tls" false). With tls it serves HTTPS from
the extender's TLS Secret, mounted at /tls.
*/}}
{{- define "mpshare.extender.container" -}}
{{- $root := .root -}}
- name: extender
  image: {{ include "mpshare.image" $root }}
  imagePullPolicy: {{ $root.Values.image.pullPolicy }}
  command: [mpshare-extender]
  args:
    - serve
    - --listen
    - {{ .listen }}
    {{- if .tls }}
    - --tls-cert
    - /tls/tls.crt
    - --tls-key
    - /tls/tls.key
    {{- end }}
    - --config
    - /config/extender.yaml
    - --shutdown-delay
    - {{ $root.Values.extender.shutdownDelaySeconds | int | quote }}
  ports:
    - name: extender
      containerPort: {{ $root.Values.extender.port }}
      protocol: TCP
  {{- if not (hasPrefix "127.0.0.1" .listen) }}
  {{- /* The kubelet cannot reach a sidecar's 127.0.0.1; a standalone one it can. */}}
  readinessProbe:
    httpGet: {path: /readyz, port: extender, scheme: {{ ternary "HTTPS" "HTTP" (not (not .tls)) }}}
    periodSeconds: 5
  livenessProbe:
    httpGet: {path: /healthz, port: extender, scheme: {{ ternary "HTTPS" "HTTP" (not (not .tls)) }}}
    initialDelaySeconds: 5
    periodSeconds: 10
  {{- end }}
  resources:
    {{- toYaml $root.Values.extender.resources | nindent 4 }}
  securityContext:
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
    runAsNonRoot: true
    runAsUser: 65532
    capabilities: {drop: [ALL]}
  volumeMounts:
    - name: extender-config
      mountPath: /config
      readOnly: true
    {{- if .tls }}
    # A whole-Secret mount (no subPath), so a renewed certificate reaches the server.
    - name: extender-tls
      mountPath: /tls
      readOnly: true
    {{- end }}
{{- end -}}

{{/* The extender's volumes: (dict "root" $ "tls" false). */}}
{{- define "mpshare.extender.volume" -}}
- name: extender-config
  configMap:
    name: {{ include "mpshare.extender.fullname" .root }}
{{- if .tls }}
- name: extender-tls
  secret:
    secretName: {{ include "mpshare.extender.tlsSecret" .root }}
{{- end }}
{{- end -}}

{{/* Where the scheduler finds the CA of the extender's certificate. */}}
{{- define "mpshare.scheduler.extenderCADir" -}}
/etc/kubernetes/mpshare-extender-ca
{{- end -}}

{{/*
"true" when the scheduler should trust the CA from the extender's TLS Secret: HTTPS is
on and scheduler.extender.tlsConfig names no trust of its own (caFile, caData or
insecure).
*/}}
{{- define "mpshare.scheduler.mountsExtenderCA" -}}
{{- $own := .Values.scheduler.extender.tlsConfig | default dict -}}
{{- if and (include "mpshare.extender.https" .) (not (or (hasKey $own "caFile") (hasKey $own "caData") (hasKey $own "insecure"))) -}}
true
{{- end -}}
{{- end -}}

{{/* The extender entry's tlsConfig: the user's, plus the mounted CA unless they chose one. */}}
{{- define "mpshare.scheduler.extenderTlsConfig" -}}
{{- $cfg := deepCopy (.Values.scheduler.extender.tlsConfig | default dict) -}}
{{- if include "mpshare.scheduler.mountsExtenderCA" . -}}
{{- $_ := set $cfg "caFile" (printf "%s/ca.crt" (include "mpshare.scheduler.extenderCADir" .)) -}}
{{- end -}}
{{- if $cfg -}}
{{- toYaml $cfg -}}
{{- end -}}
{{- end -}}
