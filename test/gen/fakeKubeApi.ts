/**
 * An HTTP-level fake of the few API-server endpoints the KmsNode controller uses, so
 * unit tests exercise the real client-node calls (paths, content types, merge patch,
 * optimistic lock) and can count requests. Not a general fake: just these routes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import type { KmsNode } from '../../src/api/v1alpha1/kmsnode.types.js';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: unknown;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** RFC 7386. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const base: Json = isObject(target) ? target : {};
  const keys = new Set([...Object.keys(base), ...Object.keys(patch)]);
  const out: Json = {};
  for (const k of keys) {
    if (!(k in patch)) out[k] = base[k];
    else if (patch[k] !== null) out[k] = applyMergePatch(base[k], patch[k]);
  }
  return out;
}

export class FakeKubeApi {
  readonly requests: RecordedRequest[] = [];
  readonly objects = new Map<string, KmsNode>();
  readonly secrets = new Map<string, Record<string, string>>();
  readonly events: Json[] = [];
  /** "namespace/name" of Secrets RBAC forbids (403), like a Role with resourceNames. */
  readonly forbiddenSecrets = new Set<string>();
  /** Answer the next N list requests with 500 (an API server having a bad moment). */
  failNextLists = 0;
  /** Answer the next N status patches with 409 Conflict. */
  conflictNextPatches = 0;
  private rv = 100;
  private readonly watchers = new Set<{ ns: string; res: ServerResponse }>();
  private server: Server | null = null;
  private url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => { void this.handle(req, res); });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
    this.server?.closeAllConnections();
    const server = this.server;
    if (server !== null) await new Promise<void>((resolve) => { server.close(() => { resolve(); }); });
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'fake', token: 'fake-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
      currentContext: 'fake',
    });
    return kc;
  }

  /** Stores (or replaces) an object as the API server would: new resourceVersion, watchers told. */
  put(node: KmsNode): KmsNode {
    const key = `${node.metadata.namespace}/${node.metadata.name}`;
    const type = this.objects.has(key) ? 'MODIFIED' : 'ADDED';
    const stored: KmsNode = { ...node, metadata: { ...node.metadata, resourceVersion: String(++this.rv) } };
    this.objects.set(key, stored);
    this.notify(type, stored);
    return stored;
  }

  remove(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const node = this.objects.get(key);
    if (node === undefined) return;
    this.objects.delete(key);
    this.notify('DELETED', { ...node, metadata: { ...node.metadata, resourceVersion: String(++this.rv) } });
  }

  /** Ends every open watch, as an API server does at its watch timeout or on restart. */
  dropWatches(): void {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  count(method: string, pathPart: string): number {
    return this.requests.filter((r) => r.method === method && r.path.includes(pathPart)).length;
  }

  private notify(type: string, node: KmsNode): void {
    for (const w of this.watchers) if (w.ns === node.metadata.namespace) w.res.write(`${JSON.stringify({ type, object: node })}\n`);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.url);
    const body: unknown = text === '' ? undefined : JSON.parse(text);
    this.requests.push({ method: req.method ?? '', path: url.pathname + url.search, contentType: req.headers['content-type'], body });
    const send = (code: number, payload: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    const notFound = (): void => { send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }); };

    let m = /^\/apis\/kms\.eigenx\.dev\/v1alpha1\/namespaces\/([^/]+)\/kmsnodes$/.exec(url.pathname);
    if (m !== null && req.method === 'GET') {
      const ns = m[1]!;
      if (url.searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        const watcher = { ns, res };
        this.watchers.add(watcher);
        req.on('close', () => this.watchers.delete(watcher));
        return;
      }
      if (this.failNextLists > 0) {
        this.failNextLists--;
        send(500, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'InternalError', code: 500, message: 'etcd unavailable' });
        return;
      }
      const selector = url.searchParams.get('fieldSelector');
      const items = [...this.objects.values()].filter((o) => o.metadata.namespace === ns && (selector === null || selector === `metadata.name=${o.metadata.name}`));
      send(200, { apiVersion: 'kms.eigenx.dev/v1alpha1', kind: 'KmsNodeList', metadata: { resourceVersion: String(this.rv) }, items });
      return;
    }
    m = /^\/apis\/kms\.eigenx\.dev\/v1alpha1\/namespaces\/([^/]+)\/kmsnodes\/([^/]+)(\/status)?$/.exec(url.pathname);
    if (m !== null) {
      const key = `${m[1]!}/${m[2]!}`;
      const current = this.objects.get(key);
      if (current === undefined) { notFound(); return; }
      if (req.method === 'GET') { send(200, current); return; }
      if (req.method === 'PATCH' && m[3] === '/status') {
        if (req.headers['content-type'] !== 'application/merge-patch+json') {
          send(415, { kind: 'Status', code: 415, message: `unsupported patch type ${req.headers['content-type'] ?? ''}` });
          return;
        }
        const patch = body as { metadata?: { resourceVersion?: string }; status?: unknown };
        const wanted = patch.metadata?.resourceVersion;
        if (this.conflictNextPatches > 0 || (wanted !== undefined && wanted !== current.metadata.resourceVersion)) {
          if (this.conflictNextPatches > 0) this.conflictNextPatches--;
          send(409, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Conflict', code: 409, message: 'the object has been modified' });
          return;
        }
        const status = applyMergePatch(current.status ?? {}, patch.status) as KmsNode['status'];
        send(200, this.put({ ...current, ...(status === undefined ? {} : { status }) }));
        return;
      }
    }
    m = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(url.pathname);
    if (m !== null && req.method === 'GET') {
      if (this.forbiddenSecrets.has(`${m[1]!}/${m[2]!}`)) {
        send(403, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403 });
        return;
      }
      const data = this.secrets.get(`${m[1]!}/${m[2]!}`);
      if (data === undefined) { notFound(); return; }
      const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
      send(200, { apiVersion: 'v1', kind: 'Secret', metadata: { name: m[2], namespace: m[1] }, data: encoded });
      return;
    }
    m = /^\/api\/v1\/namespaces\/([^/]+)\/events$/.exec(url.pathname);
    if (m !== null && req.method === 'POST') {
      this.events.push(body as Json);
      send(201, body);
      return;
    }
    m = /^\/api\/v1\/namespaces\/([^/]+)\/events\/([^/]+)$/.exec(url.pathname);
    if (m !== null && req.method === 'PATCH') {
      const index = this.events.findIndex((e) => (e as { metadata?: { name?: string } }).metadata?.name === m[2]);
      if (index < 0) { notFound(); return; }
      this.events[index] = applyMergePatch(this.events[index], body) as Json;
      send(200, this.events[index]);
      return;
    }
    notFound();
  }
}
