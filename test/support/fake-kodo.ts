import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { crc32 } from 'node:zlib';
import { freePort } from './free-port';

/**
 * A Qiniu Kodo of the test's own on a loopback port, speaking the wire protocol the `qiniu`
 * SDK speaks: region query (uc), form upload and resumable upload v2 (up), stat (rs) and
 * downloads (the bucket's domain), with Kodo's token and signature checks. One server plays
 * every host, so a store pointed at it with `ucHost` sends everything here.
 */

export interface FakeKodoObject {
  data: Buffer;
  /** Kodo's etag of the content (qetag). */
  hash: string;
  mimeType: string;
  /** Kodo's putTime: 100-nanosecond units since the epoch. */
  putTime: number;
}

export type FakeKodoRequestKind =
  | 'region-query'
  | 'form-upload'
  | 'resumable-init'
  | 'resumable-part'
  | 'resumable-complete'
  | 'stat'
  | 'download'
  | 'unknown';

/**
 * `canonical`: Kodo's form of a `Qiniu` signature; `sdk-doubled-port`: the same with the port
 * twice in the Host line, as qiniu 7.15 signs for hosts with a port; `qbox`: the older form.
 */
export type SignatureForm = 'canonical' | 'sdk-doubled-port' | 'qbox';

export interface FakeKodoRequest {
  method: string;
  path: string;
  kind: FakeKodoRequestKind;
  status: number;
  /** Which signed string matched a management request's signature. */
  signatureForm?: SignatureForm;
}

export interface FakeKodoOptions {
  accessKey?: string;
  secretKey?: string;
  bucket?: string;
  /** Private buckets serve downloads only with a valid `e`/`token` pair. Default true. */
  private?: boolean;
  /** The upload host the region query names (host[:port]); by default the fake itself. */
  advertisedUpHost?: string;
}

export interface FakeKodo {
  /** The fake's base URL: region query, upload, rs and download host in one. */
  url: string;
  /** The upload host, with its scheme, as KODO_UP_HOST takes it. */
  upHost: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  objects: Map<string, FakeKodoObject>;
  requests: FakeKodoRequest[];
  /** While set, requests of these kinds (all kinds when none are named) get this answer. */
  fail: { status: number; error: string; kinds?: FakeKodoRequestKind[] } | undefined;
  /** Called with each request once it is answered, before the answer is sent. */
  onRequest: ((request: FakeKodoRequest) => void) | undefined;
  /** While set, requests of these kinds wait for `until` before they are handled (a slow Kodo). */
  hold: { kinds: FakeKodoRequestKind[]; until: Promise<void> } | undefined;
  close(): Promise<void>;
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  signatureForm?: SignatureForm;
}

interface Upload {
  key: string;
  parts: Map<number, { data: Buffer; etag: string }>;
}

interface ResumableRoute {
  bucket: string;
  encodedKey: string;
  uploadId?: string;
  partNumber?: number;
}

const BLOCK_SIZE = 4 * 1024 * 1024;
const MIN_PART_SIZE = 1024 * 1024;
const RESUMABLE_PATH = /^\/buckets\/([^/]+)\/objects\/([^/]+)\/uploads(?:\/([^/]+)(?:\/(\d+))?)?$/;

export async function startFakeKodo(options: FakeKodoOptions = {}): Promise<FakeKodo> {
  const accessKey = options.accessKey ?? 'fake-access-key';
  const secretKey = options.secretKey ?? 'fake-secret-key';
  const bucket = options.bucket ?? 'relguard-packages';
  const isPrivate = options.private ?? true;
  const objects = new Map<string, FakeKodoObject>();
  const uploads = new Map<string, Upload>();
  const requests: FakeKodoRequest[] = [];
  const port = await freePort();
  const host = `127.0.0.1:${port}`;

  const sign = (data: string): string =>
    urlsafe(createHmac('sha1', secretKey).update(data).digest('base64'));

  /**
   * Checks `accessKey:encodedSign:encodedPutPolicy` for an upload of `key`: the refusal, or
   * whether the policy asks for insertOnly (an existing key is then refused, never replaced).
   */
  const checkUploadToken = (
    token: string | undefined,
    key: string,
  ): { denied: Reply } | { insertOnly: boolean } => {
    const badToken = { denied: { status: 401, body: { error: 'bad token' } } };
    const [ak, signature, encodedPolicy, ...rest] = (token ?? '').split(':');
    if (ak !== accessKey || signature === undefined || encodedPolicy === undefined) return badToken;
    if (rest.length > 0 || !sameText(signature, sign(encodedPolicy))) return badToken;
    let policy: { scope?: unknown; deadline?: unknown; insertOnly?: unknown };
    try {
      policy = JSON.parse(fromUrlsafe(encodedPolicy).toString('utf8')) as typeof policy;
    } catch {
      return badToken;
    }
    if (typeof policy.deadline !== 'number' || policy.deadline < nowSeconds()) {
      return { denied: { status: 401, body: { error: 'expired token' } } };
    }
    if (typeof policy.scope !== 'string') return badToken;
    const [scopeBucket, ...scopeKey] = policy.scope.split(':');
    if (scopeBucket !== bucket)
      return { denied: { status: 631, body: { error: 'no such bucket' } } };
    if (scopeKey.length > 0 && scopeKey.join(':') !== key) {
      return { denied: { status: 403, body: { error: "key doesn't match with scope" } } };
    }
    // Kodo: insertOnly non-zero refuses an upload of a key that exists (614), whatever it holds.
    return { insertOnly: typeof policy.insertOnly === 'number' && policy.insertOnly !== 0 };
  };

  /** Checks a management request's `Qiniu` (v2) or `QBox` (v1) signature. */
  const checkManagementAuth = (
    req: http.IncomingMessage,
    body: Buffer,
  ): { form: SignatureForm } | { denied: Reply } => {
    const denied = { denied: { status: 401, body: { error: 'bad token' } } };
    const match = /^(Qiniu|QBox) ([^:]+):(.+)$/.exec(req.headers.authorization ?? '');
    if (match === null || match[2] !== accessKey) return denied;
    const signature = match[3] ?? '';
    const contentType = req.headers['content-type'] ?? 'application/x-www-form-urlencoded';
    const pathAndQuery = req.url ?? '/';
    if (match[1] === 'QBox') {
      const data =
        `${pathAndQuery}\n` +
        (contentType === 'application/x-www-form-urlencoded' ? body.toString('utf8') : '');
      return sameText(signature, sign(data)) ? { form: 'qbox' } : denied;
    }
    const qiniuHeaders = Object.entries(req.headers)
      .map(([name, value]) => [canonicalHeader(name), String(value)] as const)
      .filter(([name]) => name.startsWith('X-Qiniu-') && name.length > 'X-Qiniu-'.length)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, value]) => `${name}: ${value}\n`)
      .join('');
    const signed = (hostLine: string): string =>
      `${req.method ?? 'GET'} ${pathAndQuery}\nHost: ${hostLine}\nContent-Type: ${contentType}\n` +
      `${qiniuHeaders}\n` +
      (contentType === 'application/octet-stream' ? '' : body.toString('utf8'));
    const requestHost = req.headers.host ?? host;
    if (sameText(signature, sign(signed(requestHost)))) return { form: 'canonical' };
    // qiniu 7.15 signs `Host: h:p:p` when the URL has a port, as URL.host already holds it.
    const requestPort = /:(\d+)$/.exec(requestHost)?.[1];
    if (
      requestPort !== undefined &&
      sameText(signature, sign(signed(`${requestHost}:${requestPort}`)))
    ) {
      return { form: 'sdk-doubled-port' };
    }
    return denied;
  };

  const store = (key: string, data: Buffer, mimeType: string, insertOnly: boolean): Reply => {
    if (insertOnly && objects.has(key)) return { status: 614, body: { error: 'file exists' } };
    const object: FakeKodoObject = {
      data,
      hash: qetag(data),
      mimeType,
      putTime: Date.now() * 10_000,
    };
    objects.set(key, object);
    return { status: 200, body: { hash: object.hash, key } };
  };

  const regionQuery = (url: URL): Reply => {
    if (url.searchParams.get('ak') !== accessKey || url.searchParams.get('bucket') !== bucket) {
      return { status: 631, body: { error: 'no such bucket' } };
    }
    const domains = { domains: [host] };
    return {
      status: 200,
      body: {
        hosts: [
          {
            region: 'z0',
            ttl: 86400,
            uc: domains,
            up: { domains: [options.advertisedUpHost ?? host] },
            io: domains,
            rs: domains,
            rsf: domains,
            api: domains,
            s3: { domains, region_alias: 'cn-east-1' },
          },
        ],
      },
    };
  };

  const formUpload = async (req: http.IncomingMessage, body: Buffer): Promise<Reply> => {
    let form: FormData;
    try {
      form = await new Response(body, {
        headers: { 'content-type': req.headers['content-type'] ?? '' },
      }).formData();
    } catch {
      return { status: 400, body: { error: 'invalid multipart form' } };
    }
    const token = form.get('token');
    const key = form.get('key');
    const file = form.get('file');
    if (typeof token !== 'string' || typeof key !== 'string' || !(file instanceof Blob)) {
      return { status: 400, body: { error: 'token, key and file are required' } };
    }
    const checked = checkUploadToken(token, key);
    if ('denied' in checked) return checked.denied;
    const data = Buffer.from(await file.arrayBuffer());
    const sentCrc = form.get('crc32');
    if (typeof sentCrc === 'string' && Number(sentCrc) !== crc32(data)) {
      return { status: 406, body: { error: 'crc32 not match' } };
    }
    return store(key, data, file.type || 'application/octet-stream', checked.insertOnly);
  };

  const completeUpload = (
    uploadId: string,
    upload: Upload,
    body: Buffer,
    insertOnly: boolean,
  ): Reply => {
    let request: { parts?: unknown; mimeType?: unknown };
    try {
      request = JSON.parse(body.toString('utf8')) as typeof request;
    } catch {
      return { status: 400, body: { error: 'invalid json' } };
    }
    const parts = Array.isArray(request.parts) ? (request.parts as unknown[]) : [];
    if (parts.length === 0) return { status: 400, body: { error: 'parts are required' } };
    const chunks: Buffer[] = [];
    let previousNumber = 0;
    for (const [index, part] of parts.entries()) {
      const { etag, partNumber } = (part ?? {}) as { etag?: unknown; partNumber?: unknown };
      const stored = typeof partNumber === 'number' ? upload.parts.get(partNumber) : undefined;
      if (stored === undefined || stored.etag !== etag || Number(partNumber) <= previousNumber) {
        return { status: 400, body: { error: `invalid part ${JSON.stringify(part)}` } };
      }
      if (index < parts.length - 1 && stored.data.length < MIN_PART_SIZE) {
        return { status: 400, body: { error: 'only the last part may be smaller than 1 MiB' } };
      }
      previousNumber = Number(partNumber);
      chunks.push(stored.data);
    }
    uploads.delete(uploadId);
    const mimeType =
      typeof request.mimeType === 'string' && request.mimeType !== ''
        ? request.mimeType
        : 'application/octet-stream';
    return store(upload.key, Buffer.concat(chunks), mimeType, insertOnly);
  };

  const resumable = (req: http.IncomingMessage, body: Buffer, route: ResumableRoute): Reply => {
    const key = route.encodedKey === '~' ? '' : fromUrlsafe(route.encodedKey).toString('utf8');
    const token = /^UpToken (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const checked = checkUploadToken(token, key);
    if ('denied' in checked) return checked.denied;
    if (route.bucket !== bucket) return { status: 631, body: { error: 'no such bucket' } };

    if (route.uploadId === undefined) {
      const uploadId = randomBytes(12).toString('hex');
      uploads.set(uploadId, { key, parts: new Map() });
      return { status: 200, body: { uploadId, expireAt: nowSeconds() + 7 * 86400 } };
    }
    const upload = uploads.get(route.uploadId);
    if (upload === undefined || upload.key !== key) {
      return { status: 612, body: { error: 'no such uploadId' } };
    }
    if (route.partNumber === undefined) {
      return completeUpload(route.uploadId, upload, body, checked.insertOnly);
    }

    const md5 = createHash('md5').update(body).digest('hex');
    const sentMd5 = req.headers['content-md5'];
    if (sentMd5 !== undefined && sentMd5 !== md5) {
      return { status: 400, body: { error: 'Content-MD5 not match' } };
    }
    const etag = qetag(body);
    upload.parts.set(route.partNumber, { data: body, etag });
    return { status: 200, body: { etag, md5 } };
  };

  const statObject = (req: http.IncomingMessage, encodedEntry: string): Reply => {
    const auth = checkManagementAuth(req, Buffer.alloc(0));
    if ('denied' in auth) return auth.denied;
    const entry = fromUrlsafe(encodedEntry).toString('utf8');
    const separator = entry.indexOf(':');
    const entryBucket = separator < 0 ? entry : entry.slice(0, separator);
    const key = separator < 0 ? '' : entry.slice(separator + 1);
    const signatureForm = auth.form;
    if (entryBucket !== bucket) {
      return { status: 631, body: { error: 'no such bucket' }, signatureForm };
    }
    const object = objects.get(key);
    if (object === undefined) {
      return { status: 612, body: { error: 'no such file or directory' }, signatureForm };
    }
    return {
      status: 200,
      body: {
        fsize: object.data.length,
        hash: object.hash,
        mimeType: object.mimeType,
        putTime: object.putTime,
        type: 0,
      },
      signatureForm,
    };
  };

  const download = (req: http.IncomingMessage, url: URL): Reply => {
    const key = decodeURIComponent(url.pathname.slice(1));
    if (isPrivate) {
      const raw = req.url ?? '/';
      const tokenAt = raw.lastIndexOf('&token=');
      const deadline = Number(url.searchParams.get('e'));
      const [ak, signature] = (url.searchParams.get('token') ?? '').split(':');
      // The signature covers the URL exactly as the SDK built it, up to `&token=`.
      const signedUrl = `http://${req.headers.host ?? host}${raw.slice(0, tokenAt)}`;
      if (
        tokenAt < 0 ||
        ak !== accessKey ||
        signature === undefined ||
        !sameText(signature, sign(signedUrl))
      ) {
        return { status: 401, body: { error: 'bad token' } };
      }
      if (!Number.isInteger(deadline) || deadline < nowSeconds()) {
        return { status: 401, body: { error: 'token out of date' } };
      }
    }
    const object = objects.get(key);
    if (object === undefined) return { status: 404, body: { error: 'Document not found' } };
    return {
      status: 200,
      body: object.data,
      headers: { 'content-type': object.mimeType, etag: `"${object.hash}"` },
    };
  };

  const classify = (method: string, url: URL, req: http.IncomingMessage): FakeKodoRequestKind => {
    if (method === 'GET' && url.pathname === '/v4/query') return 'region-query';
    if (method === 'POST' && url.pathname === '/') return 'form-upload';
    const resumableRoute = RESUMABLE_PATH.exec(url.pathname);
    if (resumableRoute !== null) {
      if (resumableRoute[4] !== undefined) return method === 'PUT' ? 'resumable-part' : 'unknown';
      if (method !== 'POST') return 'unknown';
      return resumableRoute[3] === undefined ? 'resumable-init' : 'resumable-complete';
    }
    // Management requests carry an Authorization header; a download never does.
    if (method === 'GET' && url.pathname.startsWith('/stat/') && req.headers.authorization) {
      return 'stat';
    }
    return method === 'GET' ? 'download' : 'unknown';
  };

  const route = async (
    req: http.IncomingMessage,
    body: Buffer,
  ): Promise<[FakeKodoRequestKind, Reply]> => {
    const url = new URL(req.url ?? '/', `http://${host}`);
    const kind = classify(req.method ?? 'GET', url, req);
    const { fail, hold } = fake;
    if (hold !== undefined && hold.kinds.includes(kind)) await hold.until;
    if (fail !== undefined && (fail.kinds === undefined || fail.kinds.includes(kind))) {
      return [kind, { status: fail.status, body: { error: fail.error } }];
    }
    switch (kind) {
      case 'region-query':
        return [kind, regionQuery(url)];
      case 'form-upload':
        return [kind, await formUpload(req, body)];
      case 'resumable-init':
      case 'resumable-part':
      case 'resumable-complete': {
        const [, routeBucket = '', encodedKey = '', uploadId, partNumber] =
          RESUMABLE_PATH.exec(url.pathname) ?? [];
        const resumableRoute: ResumableRoute = { bucket: routeBucket, encodedKey };
        if (uploadId !== undefined) resumableRoute.uploadId = uploadId;
        if (partNumber !== undefined) resumableRoute.partNumber = Number(partNumber);
        return [kind, resumable(req, body, resumableRoute)];
      }
      case 'stat':
        return [kind, statObject(req, url.pathname.slice('/stat/'.length))];
      case 'download':
        return [kind, download(req, url)];
      case 'unknown':
        return [kind, { status: 404, body: { error: 'not found' } }];
    }
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      route(req, Buffer.concat(chunks))
        .catch((error: unknown): [FakeKodoRequestKind, Reply] => [
          'unknown',
          { status: 500, body: { error: String(error) } },
        ])
        .then(([kind, reply]) => {
          const logged: FakeKodoRequest = {
            method: req.method ?? 'GET',
            path: new URL(req.url ?? '/', `http://${host}`).pathname,
            kind,
            status: reply.status,
            ...(reply.signatureForm === undefined ? {} : { signatureForm: reply.signatureForm }),
          };
          requests.push(logged);
          fake.onRequest?.(logged);
          const payload = Buffer.isBuffer(reply.body)
            ? reply.body
            : Buffer.from(JSON.stringify(reply.body));
          res.writeHead(reply.status, {
            'content-type': 'application/json',
            'x-reqid': randomBytes(8).toString('hex'),
            ...reply.headers,
            'content-length': String(payload.length),
          });
          res.end(payload);
        })
        .catch(() => res.destroy());
    });
  });

  const fake: FakeKodo = {
    url: `http://${host}`,
    upHost: `http://${host}`,
    accessKey,
    secretKey,
    bucket,
    objects,
    requests,
    fail: undefined,
    onRequest: undefined,
    hold: undefined,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // The SDK keeps connections alive; close() would wait for them otherwise.
        server.closeAllConnections();
      });
    },
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return fake;
}

/** Kodo's etag: SHA-1 of the content (up to 4 MiB) or of its 4 MiB blocks' SHA-1s. */
export function qetag(data: Buffer): string {
  const sha1 = (bytes: Buffer): Buffer => createHash('sha1').update(bytes).digest();
  const blockCount = Math.max(1, Math.ceil(data.length / BLOCK_SIZE));
  const blockHashes = Array.from({ length: blockCount }, (_, index) =>
    sha1(data.subarray(index * BLOCK_SIZE, (index + 1) * BLOCK_SIZE)),
  );
  const digest =
    blockCount === 1
      ? Buffer.concat([Buffer.from([0x16]), ...blockHashes])
      : Buffer.concat([Buffer.from([0x96]), sha1(Buffer.concat(blockHashes))]);
  return urlsafe(digest.toString('base64'));
}

function urlsafe(base64: string): string {
  return base64.replace(/\+/g, '-').replace(/\//g, '_');
}

function fromUrlsafe(text: string): Buffer {
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

function canonicalHeader(name: string): string {
  return name
    .split('-')
    .map((part) => part.slice(0, 1).toUpperCase() + part.slice(1).toLowerCase())
    .join('-');
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
