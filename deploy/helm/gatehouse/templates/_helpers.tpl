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
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.maxReplicas) 1) (ne $store "redis") (ne $store "cookie") }}
{{- fail (printf "autoscaling.maxReplicas %d needs config.session.store \"redis\" or \"cookie\": the %q store is per pod" (int .Values.autoscaling.maxReplicas) $store) }}
{{- end }}
{{- if and (gt (int .Values.replicaCount) 1) (ne $store "redis") (ne $store "cookie") }}
{{- fail (printf "replicaCount %d needs config.session.store \"redis\" or \"cookie\": the %q store is per pod" (int .Values.replicaCount) $store) }}
{{- end }}
{{- if and (eq .Values.mode "sidecar") (not .Values.sidecar.app.image) }}
{{- fail "sidecar.app.image: required in mode sidecar" }}
{{- end }}
{{- include "gatehouse.wholeNumbers" (dict "v" $cfg) }}
{{- toToml $cfg }}
{{- end }}

{{/* gatehouse.wholeNumbers: given (dict "v" X), replaces every whole float64
in X, in place and at any depth of tables and lists, by an int64. Values
files reach templates through JSON, so `gc_min_heap_mib: 32` arrives as the
float 32, which toToml would write as 32.0, a float Gatehouse refuses for an
integer key. A number with a fraction (1.5) stays a float; strings are
untouched. Outputs nothing. */}}
{{- define "gatehouse.wholeNumbers" -}}
{{- $box := . }}
{{- $v := $box.v }}
{{- if kindIs "map" $v }}
{{- range $k, $x := $v }}
{{- $inner := dict "v" $x }}
{{- include "gatehouse.wholeNumbers" $inner }}
{{- $_ := set $v $k $inner.v }}
{{- end }}
{{- else if kindIs "slice" $v }}
{{- $out := list }}
{{- range $x := $v }}
{{- $inner := dict "v" $x }}
{{- include "gatehouse.wholeNumbers" $inner }}
{{- $out = append $out $inner.v }}
{{- end }}
{{- $_ := set $box "v" $out }}
{{- else if and (kindIs "float64" $v) (eq (floor $v) $v) (lt $v 9007199254740992.0) (gt $v -9007199254740992.0) }}
{{- $_ := set $box "v" (int64 $v) }}
{{- end }}
{{- end }}

{{/* The pods the Deployment runs at least: autoscaling.minReplicas with the
HorizontalPodAutoscaler, else replicaCount. */}}
{{- define "gatehouse.minReplicas" -}}
{{- if .Values.autoscaling.enabled }}
{{- int .Values.autoscaling.minReplicas }}
{{- else }}
{{- int .Values.replicaCount }}
{{- end }}
{{- end }}

{{/* The cookie key: secrets.cookieSecret, else the one of the Secret an
earlier install created (read with lookup, so an upgrade keeps it and users
stay signed in). Never generated: a random key would differ on every
`helm template`, so a GitOps tool would see a change at every sync and every
rollout would sign everyone out. */}}
{{- define "gatehouse.cookieSecret" -}}
{{- if .Values.secrets.cookieSecret }}
{{- .Values.secrets.cookieSecret }}
{{- else }}
{{- $old := dig "data" "cookie-secret" "" (lookup "v1" "Secret" .Release.Namespace (include "gatehouse.fullname" .) | default (dict)) }}
{{- if $old }}
{{- b64dec $old }}
{{- else }}
{{- fail "secrets.cookieSecret: required unless secrets.existingSecret names a Secret (generate one with `gatehouse genkey`; the chart does not, so that every rendering is the same)" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The data of the chart's Secret (when secrets.existingSecret is empty),
also hashed into the checksum/secret pod annotation. */}}
{{- define "gatehouse.secretData" -}}
client-secret: {{ required "secrets.clientSecret: required unless secrets.existingSecret names a Secret" .Values.secrets.clientSecret | b64enc | quote }}
cookie-secret: {{ include "gatehouse.cookieSecret" . | b64enc | quote }}
{{- with .Values.secrets.redisPassword }}
redis-password: {{ . | b64enc | quote }}
{{- end }}
{{- end }}
