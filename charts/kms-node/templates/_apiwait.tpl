{{- /*
The post-install Job that runs before the KmsNode hook on a first install (templates/kmsnode.yaml
says why): it polls the API server's discovery until it lists the KmsNode resource, the way
client-go and so Helm read it (GET /apis, aggregated discovery first, the plain group list and
/apis/<group>/<version> otherwise). Discovery is open to every authenticated identity
(system:discovery), so it runs as the node's ServiceAccount with no extra rights. Its pod carries
no app.kubernetes.io/name label: the node's Service, PDB and NetworkPolicy must not select it.
A fixed 1 s poll: the wait is a few seconds, bounded by WAIT_SECONDS and activeDeadlineSeconds.
*/}}
{{- define "kms-node.apiWaitJob" -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ printf "%s-api-wait" (include "kms-node.fullname" . | trunc 54 | trimSuffix "-") }}
  labels:
    {{- include "kms-node.labels" . | nindent 4 }}
    app.kubernetes.io/component: api-wait
  annotations:
    helm.sh/hook: post-install
    helm.sh/hook-weight: "-5"
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
    helm.sh/hook-output-log-policy: hook-failed
spec:
  # A script failure is final (it already waited); a pod lost to a node disruption is retried.
  backoffLimit: 0
  podFailurePolicy:
    rules:
      - action: Ignore
        onPodConditions:
          - type: DisruptionTarget
  # Image pull and scheduling, plus WAIT_SECONDS.
  activeDeadlineSeconds: 600
  # A failed Job stays a day for `kubectl logs job/...`; a successful one is deleted by Helm.
  ttlSecondsAfterFinished: 86400
  template:
    metadata:
      labels:
        app.kubernetes.io/instance: {{ .Release.Name }}
        app.kubernetes.io/component: api-wait
        app.kubernetes.io/managed-by: {{ .Release.Service }}
    spec:
      restartPolicy: Never
      serviceAccountName: {{ include "kms-node.serviceAccountName" . }}
      enableServiceLinks: false
      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        runAsNonRoot: true
        runAsUser: {{ int64 .Values.runAsUser }}
        runAsGroup: {{ int64 .Values.runAsUser }}
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: wait
          image: {{ include "kms-node.image" . }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          securityContext:
            {{- include "kms-node.containerSecurityContext" . | nindent 12 }}
          env:
            - name: API_GROUP_VERSION
              value: kms.eigenx.dev/v1alpha1
            - name: API_RESOURCE
              value: kmsnodes
            - name: WAIT_SECONDS
              value: "300"
          command:
            - node
            - -e
            - |
              const fs = require('node:fs');
              const https = require('node:https');
              const [group, version] = process.env.API_GROUP_VERSION.split('/');
              const resource = process.env.API_RESOURCE;
              const waitSeconds = Number(process.env.WAIT_SECONDS);
              const sa = process.env.SA_DIR || '/var/run/secrets/kubernetes.io/serviceaccount';
              // What client-go sends: aggregated discovery (v2, v2beta1), else the plain list.
              const ACCEPT = ['v2', 'v2beta1'].map((v) => 'application/json;g=apidiscovery.k8s.io;v=' + v + ';as=APIGroupDiscoveryList').join(',') + ',application/json';
              const get = (path, accept) => new Promise((resolve, reject) => {
                https.get({ host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT, path,
                  ca: fs.readFileSync(sa + '/ca.crt'),
                  headers: { accept, authorization: 'Bearer ' + fs.readFileSync(sa + '/token', 'utf8').trim() } }, (res) => {
                  let text = ''; res.setEncoding('utf8'); res.on('data', (c) => (text += c));
                  res.on('end', () => {
                    if (res.statusCode !== 200) return reject(new Error('GET ' + path + ' answered ' + res.statusCode));
                    try { resolve({ type: res.headers['content-type'] ?? '', body: JSON.parse(text) }); } catch (e) { reject(e); }
                  });
                }).on('error', reject);
              });
              const listed = async () => {
                const apis = await get('/apis', ACCEPT);
                if (apis.type.includes('as=APIGroupDiscoveryList')) {
                  const v = (apis.body.items ?? []).find((g) => g.metadata?.name === group)?.versions?.find((x) => x.version === version);
                  return (v?.resources ?? []).some((r) => r.resource === resource);
                }
                if (!(apis.body.groups ?? []).some((g) => g.name === group && g.versions.some((x) => x.version === version))) return false;
                return ((await get('/apis/' + group + '/' + version, 'application/json')).body.resources ?? []).some((r) => r.name === resource);
              };
              (async () => {
                const what = group + '/' + version + ' ' + resource;
                const started = Date.now();
                let last = 'not listed';
                for (;;) {
                  try { if (await listed()) break; last = 'not listed'; } catch (e) { last = e.message; }
                  if (Date.now() - started >= waitSeconds * 1000) {
                    console.error('kms-node: the API server still does not serve ' + what + ' after ' + waitSeconds + ' s (' + last + '): its CRD '
                      + resource + '.' + group + ' must be installed (crd.install=true in one release) and Established; see kubectl get crd ' + resource + '.' + group);
                    process.exit(1);
                  }
                  await new Promise((r) => setTimeout(r, 1000));
                }
                console.log('kms-node: the API server serves ' + what + ' (after ' + ((Date.now() - started) / 1000).toFixed(1) + ' s)');
              })();
          resources:
            requests: {cpu: 10m, memory: 32Mi}
            limits: {memory: 128Mi}
{{- end -}}
