/**
 * What an in-cluster kms-server gets from a Helm release, reproduced on the e2e API
 * server: a ServiceAccount bound to the chart's own Role (rendered by helm with the
 * resource's Secret names), and a kubeconfig holding only the API server's CA and a
 * TokenRequest token for that account. A process given this file has exactly the rights
 * a pod of the release would have.
 */
import { writeFile } from 'node:fs/promises';
import { KubeConfig } from '@kubernetes/client-node';
import type { SecretKeyRef } from '../../../src/api/v1alpha1/kmsnode.types.js';
import { BASE_VALUES, find, merge, render } from '../../integration/chart/chartFixtures.js';
import { ok, type ApiServer, type ServiceAccountRef } from './apiServer.js';

/** The Secrets a KmsNode references, which the chart's Role names one by one. */
export interface NodeSecretRefs {
  readonly operatorKey: SecretKeyRef;
  readonly chainRpc: SecretKeyRef;
}

/** The rules of the chart's Role for a release whose KmsNode references `secrets`. */
export async function chartRoleRules(secrets: NodeSecretRefs): Promise<unknown> {
  const values = merge(BASE_VALUES, {
    node: {
      operator: { keySecretRef: { name: secrets.operatorKey.name, key: secrets.operatorKey.key } },
      chain: { rpcUrlSecretRef: { name: secrets.chainRpc.name, key: secrets.chainRpc.key } },
    },
  });
  const rendered = await render(values, ['--show-only', 'templates/role.yaml']);
  if (rendered.code !== 0) throw new Error(`helm template of the chart's Role failed: ${rendered.stderr}`);
  return (find(rendered.objects, 'Role') as unknown as { rules: unknown }).rules;
}

/** Creates the ServiceAccount and a Role with `rules` bound to it (the account's name for both). */
export async function bindRole(api: ApiServer, account: ServiceAccountRef, rules: unknown): Promise<void> {
  const { namespace, name } = account;
  const list = {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace }, rules },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name, namespace },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [{ kind: 'ServiceAccount', name, namespace }],
      },
    ],
  };
  ok(await api.kubectl(['apply', '-f', '-'], { input: JSON.stringify(list) }), `kubectl apply ServiceAccount/Role/RoleBinding ${namespace}/${name}`);
}

/**
 * Writes (mode 0600) a kubeconfig for `account`: the admin kubeconfig's cluster (server
 * and CA), a fresh token for the account as the only credential, and the account's
 * namespace as the default. Returns the loaded config.
 */
export async function writeServiceAccountKubeconfig(api: ApiServer, account: ServiceAccountRef, file: string, expirationSeconds = 3600): Promise<KubeConfig> {
  const admin = new KubeConfig();
  admin.loadFromFile(api.kubeconfig);
  const cluster = admin.getCurrentCluster();
  if (cluster === null) throw new Error(`admin kubeconfig ${api.kubeconfig} has no current cluster`);
  const token = await api.createToken(account, expirationSeconds);
  const config = new KubeConfig();
  const user = `${account.namespace}-${account.name}`;
  config.loadFromOptions({
    clusters: [cluster],
    users: [{ name: user, token }],
    contexts: [{ name: user, cluster: cluster.name, user, namespace: account.namespace }],
    currentContext: user,
  });
  await writeFile(file, config.exportConfig(), { mode: 0o600 });
  return config;
}
