{{/* The chart name, or nameOverride. */}}
{{- define "gatehouse.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The name of every object: fullnameOverride, or the release name (with
the chart name unless the release name contains it). */}}
{{- define "gatehouse.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "gatehouse.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gatehouse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "gatehouse.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "gatehouse.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "gatehouse.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gatehouse.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "gatehouse.secretName" -}}
{{- default (include "gatehouse.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{- define "gatehouse.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The configuration file: .Values.config as TOML, with server.listen set
from containerPort and server.metrics_listen from metrics. Fails on values
Gatehouse would refuse in this chart. */}}
{{- define "gatehouse.config" -}}
{{- if not (has .Values.mode (list "standalone" "sidecar")) }}
{{- fail (printf "mode: %q is not \"standalone\" or \"sidecar\"" .Values.mode) }}
{{- end }}
{{- $cfg := deepCopy (default (dict) .Values.config) }}
{{- $server := default (dict) (get $cfg "server") }}
{{- if hasKey $server "listen" }}
{{- fail "config.server.listen: set containerPort instead; the chart sets server.listen to \":<containerPort>\"" }}
{{- end }}
{{- $_ := set $server "listen" (printf ":%d" (int .Values.containerPort)) }}
{{- if hasKey $server "metrics_listen" }}
{{- fail "config.server.metrics_listen: set metrics.enabled and metrics.port instead" }}
{{- end }}
{{- if .Values.metrics.enabled }}
{{- $_ = set $server "metrics_listen" (printf ":%d" (int .Values.metrics.port)) }}
{{- end }}
{{- $_ = set $cfg "server" $server }}
{{- $store := dig "session" "store" "memory" $cfg }}
{{- if and (gt (int .Values.replicaCount) 1) (ne $store "redis") (ne $store "cookie") }}
{{- fail (printf "replicaCount %d needs config.session.store \"redis\" or \"cookie\": the %q store is per pod" (int .Values.replicaCount) $store) }}
{{- end }}
{{- if and (eq .Values.mode "sidecar") (not .Values.sidecar.app.image) }}
{{- fail "sidecar.app.image: required in mode sidecar" }}
{{- end }}
{{- toToml $cfg }}
{{- end }}
