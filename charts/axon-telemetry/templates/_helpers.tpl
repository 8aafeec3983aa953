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
