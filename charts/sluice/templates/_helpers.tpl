{{/* Chart name, overridable. */}}
{{- define "sluice.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified name: the release name, plus the chart name unless it already contains it. */}}
{{- define "sluice.fullname" -}}
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

{{- define "sluice.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "sluice.labels" -}}
helm.sh/chart: {{ include "sluice.chart" . }}
{{ include "sluice.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sluice
{{- end }}

{{/* Labels that select the operator pods; never change them after the first install. */}}
{{- define "sluice.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sluice.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "sluice.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sluice.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "sluice.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The operator's permissions, exactly what it reads and writes. Rendered into a ClusterRole, or
into a Role in watchNamespace when the operator watches one namespace.
*/}}
{{- define "sluice.rules" -}}
# Exactly what the operator asks for today (e2e.control-plane.rbac checks each rule against
# kube-apiserver's audit log).
- apiGroups: ["sluice.dev"]
  resources: ["canaryrollouts"]
  # patch: removing a day-2 annotation (sluice.dev/promote, abort, retry) once consumed.
  verbs: ["list", "watch", "patch"]
- apiGroups: ["sluice.dev"]
  resources: ["canaryrollouts/status"]
  verbs: ["update"]
- apiGroups: ["sluice.dev"]
  resources: ["trafficpolicies"]
  verbs: ["list", "watch"]
- apiGroups: ["sluice.dev"]
  resources: ["trafficpolicies/status"]
  verbs: ["update"]
- apiGroups: ["sluice.dev"]
  resources: ["tierlimits"]
  verbs: ["list", "watch"]
- apiGroups: ["sluice.dev"]
  resources: ["tierlimits/status"]
  verbs: ["update"]
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["httproutes"]
  # Server-side apply is a patch, and needs create when the object is new; the garbage
  # collector deletes them with their rollout; delete: a rollout moved to another provider
  # (or a route its plan no longer has).
  verbs: ["list", "watch", "create", "patch", "delete"]
- apiGroups: ["gateway.envoyproxy.io"]
  resources: ["backendtrafficpolicies"]
  # Next to a TrafficPolicy's HTTPRoute: load balancer, health checks, circuit breaker.
  verbs: ["list", "watch", "create", "patch", "delete"]
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  # delete: a TierLimit whose spec.autoscaling is removed takes its HPA with it.
  verbs: ["list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["services", "pods"]
  verbs: ["list", "watch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  # patch: a repeated Event becomes a series.
  verbs: ["create", "patch"]
{{- end }}
