{{- define "taskgov.labels" -}}
app.kubernetes.io/name: taskgov
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "taskgov.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}

{{- define "taskgov.env" -}}
- name: TASKGOV_KAFKA_BOOTSTRAP
  value: {{ .Values.kafka.bootstrap | quote }}
- name: TASKGOV_DUCKDB_PATH
  value: /var/lib/taskgov/taskgov.duckdb
- name: TASKGOV_KUEUE_API_VERSION
  value: {{ .Values.cluster.kueueApiVersion | quote }}
{{- end -}}
