{{- define "taskgov.labels" -}}
app.kubernetes.io/name: taskgov
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "taskgov.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "taskgov.env" -}}
- name: TASKGOV_KAFKA_BOOTSTRAP
  value: {{ .Values.kafka.bootstrap | quote }}
- name: TASKGOV_DUCKDB_PATH
  value: /var/lib/taskgov/taskgov.duckdb
- name: TASKGOV_KUEUE_API_VERSION
  value: {{ .Values.cluster.kueueApiVersion | quote }}
{{- end -}}


{{/* The restricted Pod Security profile, per container: non-root, no privilege escalation, no
capabilities, read-only root (Python's and DuckDB's scratch goes to the /tmp emptyDir). */}}
{{- define "taskgov.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  runAsNonRoot: true
  capabilities: {drop: [ALL]}
  seccompProfile: {type: RuntimeDefault}
{{- end -}}

{{/* Probes of a container without an HTTP port: alive while its process runs (PID 1 exits
otherwise), ready once the volume holds what it needs. */}}
{{- define "taskgov.fileProbes" -}}
livenessProbe:
  exec: {command: [/bin/sh, -c, "kill -0 1"]}
  periodSeconds: 30
readinessProbe:
  exec: {command: [/bin/sh, -c, "test -d /var/lib/taskgov"]}
  periodSeconds: 10
{{- end -}}
