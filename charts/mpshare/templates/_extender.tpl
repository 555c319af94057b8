{{/*
The extender container, shared by the sidecar and the standalone Deployment:
(dict "root" $ "listen" "127.0.0.1:8888").
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
    - --config
    - /config/extender.yaml
  ports:
    - name: extender
      containerPort: {{ $root.Values.extender.port }}
      protocol: TCP
  {{- if not (hasPrefix "127.0.0.1" .listen) }}
  readinessProbe:
    tcpSocket: {port: extender}
    periodSeconds: 5
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
{{- end -}}

{{- define "mpshare.extender.volume" -}}
- name: extender-config
  configMap:
    name: {{ include "mpshare.extender.fullname" . }}
{{- end -}}
