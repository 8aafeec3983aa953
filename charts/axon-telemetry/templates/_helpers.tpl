{{/*
Names are fixed, not derived from the release: the docs, the opt-out command
(kubectl delete cronjob axon-telemetry) and the reporter's ConfigMap all use
"axon-telemetry", and one reporter per cluster is the intent (its ClusterRole and
ConfigMap are per-cluster anyway).
*/}}
{{- define "axon-telemetry.name" -}}
axon-telemetry
{{- end }}

{{/* Labels every object carries. */}}
{{- define "axon-telemetry.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{ include "axon-telemetry.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: telemetry
app.kubernetes.io/part-of: axon
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that identify the reporter's pods. */}}
{{- define "axon-telemetry.selectorLabels" -}}
app.kubernetes.io/name: {{ include "axon-telemetry.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the reporter runs as. */}}
{{- define "axon-telemetry.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{ default (include "axon-telemetry.name" .) .Values.serviceAccount.name }}
{{- else -}}
{{ required "serviceAccount.name is required when serviceAccount.create=false: name the existing ServiceAccount the reporter runs as" .Values.serviceAccount.name }}
{{- end -}}
{{- end }}

{{/*
The reporter's pod spec, shared by the CronJob and the `helm test` Pod so that the test runs
exactly as the reports do: the same ServiceAccount, image, environment and hardening.
Takes a dict: root (the chart's context), restartPolicy, args (the reporter's arguments).
*/}}
{{- define "axon-telemetry.podSpec" -}}
{{- $root := .root -}}
serviceAccountName: {{ include "axon-telemetry.serviceAccountName" $root }}
# The reporter talks to the API server: the one place a token is mounted.
automountServiceAccountToken: true
restartPolicy: {{ .restartPolicy }}
{{- with $root.Values.priorityClassName }}
priorityClassName: {{ . | quote }}
{{- end }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
{{- with $root.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: reporter
    {{- with $root.Values.image }}
    image: "{{ .repository }}{{ if .digest }}@{{ .digest }}{{ else }}:{{ .tag | default $root.Chart.AppVersion }}{{ end }}"
    {{- end }}
    imagePullPolicy: {{ $root.Values.image.pullPolicy }}
    args:
      {{- range .args }}
      - {{ . | quote }}
      {{- end }}
    env:
      # Where the installation ID's ConfigMap lives: this release's namespace.
      - name: POD_NAMESPACE
        valueFrom:
          fieldRef:
            fieldPath: metadata.namespace
      {{- with $root.Values.extraEnv }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    securityContext:
      {{- toYaml $root.Values.securityContext | nindent 6 }}
    resources:
      {{- toYaml $root.Values.resources | nindent 6 }}
{{- end }}
