// Thin fetch wrapper for the REST API.
//
// - Cookies only travel to our own origin (credentials: 'same-origin').
// - Every state-changing request says Content-Type: application/json: the
//   server refuses anything else with 403 (CSRF defence), even when the
//   request has no body.
// - Errors come back as {"error": "..."}; they are thrown as ApiError.

export class ApiError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

const STATE_CHANGING: ReadonlySet<Method> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function buildRequestInit(method: Method, opts: RequestOptions = {}): RequestInit {
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
  if (STATE_CHANGING.has(method) || opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  const init: RequestInit = { method, headers, credentials: 'same-origin' };
  if (opts.body !== undefined) {
    init.body = JSON.stringify(opts.body);
  }
  if (opts.signal) {
    init.signal = opts.signal;
  }
  return init;
}

function statusText(status: number): string {
  if (status === 401) return 'Please log in first.';
  if (status === 403) return 'You are not allowed to do that.';
  if (status === 404) return 'Not found.';
  if (status === 429) return 'Too many requests — try again in a moment.';
  if (status === 502 || status === 504) return 'The server is not reachable right now.';
  if (status === 503) return 'The service is temporarily unavailable.';
  return `Something went wrong (HTTP ${status}).`;
}

export async function request<T>(method: Method, path: string, opts: RequestOptions = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, buildRequestInit(method, opts));
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') {
      throw err;
    }
    throw new ApiError(0, "Can't reach the server. Check your connection.");
  }

  const type = res.headers.get('content-type') ?? '';
  let data: unknown = undefined;
  if (res.status !== 204 && type.includes('json')) {
    try {
      data = await res.json();
    } catch {
      data = undefined;
    }
  }

  if (!res.ok) {
    const msg =
      data && typeof data === 'object' && typeof (data as { error?: unknown }).error === 'string'
        ? (data as { error: string }).error
        : statusText(res.status);
    throw new ApiError(res.status, msg);
  }
  if (data === undefined && res.status !== 204 && method === 'GET') {
    // A GET that did not answer JSON (e.g. the SPA's index.html when the API
    // is not deployed) is an error for us.
    throw new ApiError(res.status, 'Unexpected response from the server.');
  }
  return data as T;
}

export const api = {
  get: <T>(path: string, opts?: RequestOptions) => request<T>('GET', path, opts),
  post: <T>(path: string, body?: unknown, opts?: RequestOptions) =>
    request<T>('POST', path, { ...opts, body }),
  patch: <T>(path: string, body?: unknown, opts?: RequestOptions) =>
    request<T>('PATCH', path, { ...opts, body }),
  put: <T>(path: string, body?: unknown, opts?: RequestOptions) =>
    request<T>('PUT', path, { ...opts, body }),
  del: <T>(path: string, body?: unknown, opts?: RequestOptions) =>
    request<T>('DELETE', path, { ...opts, body }),
};

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return 'Something went wrong.';
}

/** A random id for Idempotency-Key headers and chat message ids. */
export function randomId(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') {
    return c.randomUUID();
  }
  const bytes = new Uint8Array(16);
  if (c && typeof c.getRandomValues === 'function') {
    c.getRandomValues(bytes);
  } else {
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  }
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
