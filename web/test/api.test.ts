import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, buildRequestInit, randomId, request } from '../src/api/client';
import { channelApi } from '../src/api/endpoints';

function jsonResponse(status: number, body: unknown, type = 'application/json') {
  return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, headers: { 'Content-Type': type } });
}

afterEach(() => vi.unstubAllGlobals());

describe('request init', () => {
  it('GET carries no content type and same-origin credentials', () => {
    const init = buildRequestInit('GET');
    expect(init.credentials).toBe('same-origin');
    expect((init.headers as Record<string, string>)['Content-Type']).toBeUndefined();
  });
  it('every state-changing method says application/json, even without a body', () => {
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
      const init = buildRequestInit(m);
      expect((init.headers as Record<string, string>)['Content-Type']).toBe('application/json');
      expect(init.credentials).toBe('same-origin');
      expect(init.body).toBeUndefined();
    }
    expect(buildRequestInit('POST', { body: { a: 1 } }).body).toBe('{"a":1}');
  });
});

describe('request', () => {
  it('returns the JSON body', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => jsonResponse(200, { channels: [] })));
    await expect(request('GET', '/api/channels')).resolves.toEqual({ channels: [] });
  });
  it('throws ApiError with the server message', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => jsonResponse(404, { error: 'Channel not found' })));
    const err = (await request('GET', '/api/channels/x').catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(404);
    expect(err.message).toBe('Channel not found');
  });
  it('plain words when the body is not JSON', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => jsonResponse(502, '<html>bad gateway</html>', 'text/html')));
    const err = (await request('GET', '/api/x').catch((e: unknown) => e)) as ApiError;
    expect(err.message).toBe('The server is not reachable right now.');
  });
  it('a GET answered with HTML (no API behind) is an error', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => jsonResponse(200, '<!doctype html>', 'text/html')));
    await expect(request('GET', '/api/x')).rejects.toBeInstanceOf(ApiError);
  });
  it('network failures become status 0', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
    const err = (await request('GET', '/api/x').catch((e: unknown) => e)) as ApiError;
    expect(err.status).toBe(0);
  });
});

describe('endpoints', () => {
  it('subscribe posts the tier with an Idempotency-Key', async () => {
    const fetchMock = vi.fn(async () => jsonResponse(200, { success: true, tier: 2 }));
    vi.stubGlobal('fetch', fetchMock);
    await channelApi.subscribe('shroud', 2, 'key-123');
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/channels/shroud/subscribe');
    expect(init.method).toBe('POST');
    expect(init.body).toBe('{"tier":2}');
    expect((init.headers as Record<string, string>)['Idempotency-Key']).toBe('key-123');
    expect((init.headers as Record<string, string>)['Content-Type']).toBe('application/json');
  });
  it('names are URL-encoded', async () => {
    const fetchMock = vi.fn(async () => jsonResponse(200, { channel: {} }));
    vi.stubGlobal('fetch', fetchMock);
    await channelApi.get('a/b');
    expect((fetchMock.mock.calls[0] as unknown as [string])[0]).toBe('/api/channels/a%2Fb');
  });
  it('randomId looks like a UUID v4', () => {
    expect(randomId()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
