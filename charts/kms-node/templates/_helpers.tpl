{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "kms-node.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Resource name prefix: <release>-<chart>, or <release> when it already holds the chart name. */}}
{{- define "kms-node.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kms-node.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kms-node.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kms-node.labels" -}}
{{ include "kms-node.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "kms-node.serviceAccountName" -}}
{{- default (include "kms-node.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "kms-node.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* True ("true") when the node keeps its Redis files on the data volume. */}}
{{- define "kms-node.embedded" -}}
{{- if and (eq .Values.node.persistence.type "redis") (eq .Values.node.persistence.redis.mode "embedded") -}}true{{- end -}}
{{- end -}}

{{- define "kms-node.dataPath" -}}
{{- printf "%s/data" (trimSuffix "/" .Values.storage.mountPath) -}}
{{- end -}}

{{/* Name of the created StorageClass. */}}
{{- define "kms-node.createdStorageClassName" -}}
{{- default (printf "%s-encrypted" (include "kms-node.fullname" .)) .Values.storage.storageClass.name -}}
{{- end -}}

{{/*
The StorageClass of the data volume, after the encryption guard: with encryption required
(the default) rendering stops unless the class is created with the provider's encryption
parameters, or is an existing class the user confirms is encrypted.
*/}}
{{- define "kms-node.storageClassName" -}}
{{- $s := .Values.storage -}}
{{- $sc := $s.storageClass -}}
{{- if and $sc.create $s.existingClass.name -}}
{{- fail "kms-node: set either storage.storageClass.create=true or storage.existingClass.name, not both" -}}
{{- end -}}
{{- if $sc.create -}}
{{- if eq $sc.provider "" -}}
{{- fail "kms-node: storage.storageClass.create=true needs storage.storageClass.provider: aws, gcp, azure or custom" -}}
{{- else if and (eq $sc.provider "gcp") (not $sc.gcp.diskEncryptionKmsKey) -}}
{{- fail "kms-node: storage.storageClass.provider=gcp needs storage.storageClass.gcp.diskEncryptionKmsKey (the Cloud KMS key that encrypts the disk)" -}}
{{- else if and (eq $sc.provider "azure") (not $sc.azure.diskEncryptionSetID) -}}
{{- fail "kms-node: storage.storageClass.provider=azure needs storage.storageClass.azure.diskEncryptionSetID (the Disk Encryption Set that encrypts the disk)" -}}
{{- else if eq $sc.provider "custom" -}}
{{- if not $sc.custom.provisioner -}}
{{- fail "kms-node: storage.storageClass.provider=custom needs storage.storageClass.custom.provisioner" -}}
{{- end -}}
{{- if and $s.encryption.required (not $sc.custom.encrypted) -}}
{{- fail "kms-node: storage encryption is required but the custom StorageClass is not confirmed encrypted: give storage.storageClass.custom.parameters that encrypt volumes and set storage.storageClass.custom.encrypted=true" -}}
{{- end -}}
{{- end -}}
{{- include "kms-node.createdStorageClassName" . -}}
{{- else if $s.existingClass.name -}}
{{- if and $s.encryption.required (not $s.existingClass.encrypted) -}}
{{- fail (printf "kms-node: storage encryption is required but StorageClass %q is not confirmed encrypted: set storage.existingClass.encrypted=true if it encrypts volumes at rest, or let the chart create one (storage.storageClass.create=true with provider aws, gcp, azure or custom)" $s.existingClass.name) -}}
{{- end -}}
{{- $s.existingClass.name -}}
{{- else if $s.encryption.required -}}
{{- fail "kms-node: storage encryption is required (storage.encryption.required=true) but no encrypted StorageClass is configured: set storage.storageClass.create=true with storage.storageClass.provider (aws, gcp, azure or custom) and its encryption parameters, or storage.existingClass.name with storage.existingClass.encrypted=true; only for tests, storage.encryption.required=false uses the cluster's default class" -}}
{{- end -}}
{{- end -}}

{{/* Names of the Secrets the KmsNode references (the controller may read only these). */}}
{{- define "kms-node.secretNames" -}}
{{- $p := .Values.node.persistence -}}
{{- $names := list .Values.node.operator.keySecretRef.name .Values.node.chain.rpcUrlSecretRef.name -}}
{{- if and (eq $p.type "redis") (eq $p.redis.mode "external") -}}
{{- $names = append $names $p.redis.urlSecretRef.name -}}
{{- end -}}
{{- if $p.encryptionKeySecretRef.name -}}
{{- $names = append $names $p.encryptionKeySecretRef.name -}}
{{- end -}}
{{- toJson (uniq $names) -}}
{{- end -}}

{{/* Fails with the value's name when a required node setting is missing. */}}
{{- define "kms-node.validate" -}}
{{- $n := .Values.node -}}
{{- $_ := required "kms-node: node.operator.address is required (0x + 40 hex)" $n.operator.address -}}
{{- $_ = required "kms-node: node.operator.keySecretRef.name is required (Secret with the operator key)" $n.operator.keySecretRef.name -}}
{{- $_ = required "kms-node: node.chain.rpcUrlSecretRef.name is required (Secret with the chain RPC URL)" $n.chain.rpcUrlSecretRef.name -}}
{{- if not (gt (int64 $n.chain.chainId) 0) -}}
{{- fail "kms-node: node.chain.chainId is required (the EIP-155 chain id, > 0)" -}}
{{- end -}}
{{- $_ = required "kms-node: node.chain.registryAddress is required (0x + 40 hex)" $n.chain.registryAddress -}}
{{- if and (eq $n.persistence.type "redis") (eq $n.persistence.redis.mode "external") -}}
{{- $_ = required "kms-node: node.persistence.redis.urlSecretRef.name is required when node.persistence.redis.mode is external" $n.persistence.redis.urlSecretRef.name -}}
{{- end -}}
{{- end -}}

{{- define "kms-node.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The KmsNode spec from values. */}}
{{- define "kms-node.kmsnodeSpec" -}}
{{- $p := .Values.node.persistence -}}
spec:
  operator:
    address: {{ .Values.node.operator.address | quote }}
    keySecretRef:
      {{- toYaml .Values.node.operator.keySecretRef | nindent 6 }}
  chain:
    rpcUrlSecretRef:
      {{- toYaml .Values.node.chain.rpcUrlSecretRef | nindent 6 }}
    chainId: {{ .Values.node.chain.chainId | int64 }}
    registryAddress: {{ .Values.node.chain.registryAddress | quote }}
    {{- range $field := list "boundaryInterval" "pollIntervalMs" "protocolTimeoutMs" }}
    {{- with index $.Values.node.chain $field }}
    {{ $field }}: {{ . | int64 }}
    {{- end }}
    {{- end }}
  persistence:
    type: {{ $p.type }}
    {{- if eq $p.type "redis" }}
    {{- if include "kms-node.embedded" . }}
    dataPath: {{ include "kms-node.dataPath" . | quote }}
    {{- end }}
    redis:
      mode: {{ $p.redis.mode }}
      {{- if eq $p.redis.mode "external" }}
      urlSecretRef:
        {{- toYaml $p.redis.urlSecretRef | nindent 8 }}
      {{- end }}
      appendfsync: {{ $p.redis.appendfsync }}
      keyPrefix: {{ $p.redis.keyPrefix | quote }}
    {{- end }}
    {{- if $p.encryptionKeySecretRef.name }}
    encryptionKeySecretRef:
      {{- toYaml $p.encryptionKeySecretRef | nindent 6 }}
    {{- end }}
  server:
    port: {{ .Values.node.server.port }}
  {{- with .Values.node.appSign }}
  appSign:
    {{- if .allowlist }}
    allowlist:
      {{- toYaml .allowlist | nindent 6 }}
    {{- end }}
    ratePerSecond: {{ .ratePerSecond | int64 }}
    burst: {{ .burst | int64 }}
    maxConcurrent: {{ .maxConcurrent | int64 }}
    maxBodyBytes: {{ .maxBodyBytes | int64 }}
  {{- end }}
{{- end -}}
