import qiniu from 'qiniu';

/**
 * The narrow, typed face of the `qiniu` SDK that KodoPackageStore uses. The SDK's own types
 * answer `any` for response bodies and errors, resolve (not reject) on HTTP errors and pick the
 * URL scheme from the config rather than from the endpoints; all of that is dealt with here.
 */

export interface KodoClientOptions {
  accessKey: string;
  secretKey: string;
  bucket: string;
  /** Upload host with its scheme; other services still come from the bucket's region. */
  upHost?: string;
  /** Region query (uc) host with its scheme; by default Qiniu's public one. */
  ucHost?: string;
}

/** An HTTP answer from Kodo: the status, the parsed JSON body and Kodo's request id. */
export interface KodoResponse {
  status: number;
  body: unknown;
  reqId?: string;
}

export interface KodoClient {
  /** A token for one upload of `key` that Kodo refuses (614) when the key exists already. */
  uploadToken(key: string, expiresSeconds: number): string;
  formUpload(token: string, key: string, filePath: string): Promise<KodoResponse>;
  resumableUpload(
    token: string,
    key: string,
    filePath: string,
    options: { partSize: number; onPart: () => void },
  ): Promise<KodoResponse>;
  stat(key: string): Promise<KodoResponse>;
  privateDownloadUrl(domain: string, key: string, deadline: number): string;
}

interface SdkResponse {
  data: unknown;
  resp: { statusCode?: number; headers: Record<string, string | string[] | undefined> };
}

/** A network failure from the SDK (urllib): never an HTTP status. */
export class KodoTransportError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'KodoTransportError';
  }
}

export function createKodoClient(options: KodoClientOptions): KodoClient {
  const mac = new qiniu.auth.digest.Mac(options.accessKey, options.secretKey);
  const config = sdkConfig(options);
  const formUploader = new qiniu.form_up.FormUploader(config);
  const resumeUploader = new qiniu.resume_up.ResumeUploader(config);
  const bucketManager = new qiniu.rs.BucketManager(mac, config);

  return {
    uploadToken(key, expiresSeconds) {
      // A scope naming the key would let a second upload of it overwrite the first: insertOnly
      // makes Kodo refuse it (614) instead, whoever uploads.
      const policy = new qiniu.rs.PutPolicy({
        scope: `${options.bucket}:${key}`,
        expires: expiresSeconds,
        insertOnly: 1,
      });
      return policy.uploadToken(mac);
    },
    async formUpload(token, key, filePath) {
      const extra = new qiniu.form_up.PutExtra();
      extra.mimeType = 'application/gzip';
      return await call(() => formUploader.putFile(token, key, filePath, extra));
    },
    async resumableUpload(token, key, filePath, { partSize, onPart }) {
      // The SDK gives up on the upload when this callback throws: that is how a caller stops it.
      const extra = qiniu.resume_up.PutExtra.create(
        undefined,
        undefined,
        'application/gzip',
        undefined,
        () => onPart(),
        partSize,
        'v2',
      );
      return await call(() => resumeUploader.putFileV2(token, key, filePath, extra));
    },
    async stat(key) {
      return await call(() => bucketManager.stat(options.bucket, key));
    },
    privateDownloadUrl(domain, key, deadline) {
      return bucketManager.privateDownloadUrl(domain, key, deadline);
    },
  };
}

function sdkConfig(options: KodoClientOptions): qiniu.conf.Config {
  const upHost = options.upHost === undefined ? undefined : new URL(options.upHost);
  const ucHost = options.ucHost === undefined ? undefined : new URL(options.ucHost);
  // The SDK takes every scheme from useHttpsDomain (plain HTTP by default) and ignores the
  // endpoints' own: follow the configured host, else HTTPS.
  const scheme = (upHost ?? ucHost)?.protocol === 'http:' ? 'http' : 'https';
  const config = new qiniu.conf.Config({ useHttpsDomain: scheme === 'https' });
  const ucEndpoints =
    ucHost === undefined
      ? config.getUcEndpointsProvider()
      : new qiniu.httpc.StaticEndpointsProvider([
          new qiniu.httpc.Endpoint(ucHost.host, { defaultScheme: scheme }),
        ]);
  const upEndpoint =
    upHost === undefined
      ? undefined
      : new qiniu.httpc.Endpoint(upHost.host, { defaultScheme: scheme });
  config.regionsProvider = bucketRegions(options, scheme, ucEndpoints, upEndpoint);
  return config;
}

/**
 * The bucket's regions as Kodo's region query answers them, kept while they live, with the
 * upload host replaced when one is configured. Not the SDK's own cache: qiniu 7.15 keeps a
 * failed query's rejection for the life of the process (and leaves it unhandled), so one
 * network blip would break every later upload. A region holding only a custom `up` host
 * would leave stat without an rs host.
 */
function bucketRegions(
  options: KodoClientOptions,
  scheme: string,
  ucEndpoints: qiniu.httpc.EndpointsProvider,
  upEndpoint: qiniu.httpc.Endpoint | undefined,
): qiniu.httpc.RegionsProvider {
  const query = new qiniu.httpc.QueryRegionsProvider({
    accessKey: options.accessKey,
    bucketName: options.bucket,
    endpointsProvider: ucEndpoints,
    preferredScheme: scheme,
  });
  let cached: qiniu.httpc.Region[] = [];
  let pending: Promise<qiniu.httpc.Region[]> | undefined;
  const withUpHost = (region: qiniu.httpc.Region): qiniu.httpc.Region => {
    if (upEndpoint === undefined) return region;
    const replaced = region.clone();
    replaced.services[qiniu.httpc.SERVICE_NAME.UP] = [upEndpoint];
    replaced.services[qiniu.httpc.SERVICE_NAME.UP_ACC] = [];
    return replaced;
  };
  return {
    async getRegions() {
      if (cached.length > 0 && cached.every((region) => region.isLive)) return cached;
      pending ??= query
        .getRegions()
        .then(
          (regions) => {
            cached = regions.map(withUpHost);
            return cached;
          },
          (error: unknown) => {
            // The SDK words a refused query as prose; keep its status for the caller to judge.
            const message = error instanceof Error ? error.message : String(error);
            const status = /HTTP Status Code (\d+)/.exec(message)?.[1];
            throw status === undefined ? error : new RegionQueryError(Number(status));
          },
        )
        .finally(() => {
          pending = undefined;
        });
      return await pending;
    },
  };
}

/** Kodo answered the region query of the bucket with an HTTP error. */
class RegionQueryError extends Error {
  constructor(readonly status: number) {
    super('region query refused');
    this.name = 'RegionQueryError';
  }
}

async function call(request: () => Promise<SdkResponse>): Promise<KodoResponse> {
  try {
    const response = await request();
    return kodoResponse(response.resp, response.data);
  } catch (error) {
    if (error instanceof RegionQueryError) {
      return { status: error.status, body: { error: error.message } };
    }
    // urllib rejects an answer it cannot parse as JSON (a proxy's HTML 502, say) but keeps it.
    const resp = (error as { resp?: SdkResponse['resp'] } | undefined)?.resp;
    if (error instanceof Error && resp !== undefined && (resp.statusCode ?? 0) > 0) {
      return kodoResponse(resp, { error: error.message });
    }
    throw transportError(error);
  }
}

function kodoResponse(resp: SdkResponse['resp'], body: unknown): KodoResponse {
  const reqId = resp.headers['x-reqid'];
  return {
    status: resp.statusCode ?? 0,
    body,
    ...(typeof reqId === 'string' ? { reqId } : {}),
  };
}

function transportError(error: unknown): KodoTransportError {
  if (!(error instanceof Error)) return new KodoTransportError(String(error), undefined);
  const code = (error as { code?: unknown }).code;
  return new KodoTransportError(error.message, typeof code === 'string' ? code : undefined);
}
