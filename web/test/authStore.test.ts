import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { onAuthChange, useAuthStore } from '../src/stores/auth';

const me = {
  id: 9,
  username: 'viewer1',
  email: 'v@example.com',
  displayName: 'Viewer One',
  avatarUrl: null,
  role: 'user',
  channel: { id: 12, name: 'viewer1', streamKey: 'live_old', isLive: false },
};

function respond(routes: Record<string, [number, unknown]>) {
  return vi.fn(async (url: string, init?: RequestInit) => {
    const key = `${init?.method ?? 'GET'} ${url}`;
    const [status, body] = routes[key] ?? [404, { error: 'Not found' }];
    return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
  });
}

beforeEach(() => useAuthStore.setState({ user: null, loading: true, error: null }));
afterEach(() => vi.unstubAllGlobals());

describe('auth store', () => {
  it('fetchMe: 401 means signed out, not an error', async () => {
    vi.stubGlobal('fetch', respond({ 'GET /api/auth/me': [401, { error: 'Not authenticated' }] }));
    await expect(useAuthStore.getState().fetchMe()).resolves.toBeNull();
    expect(useAuthStore.getState()).toMatchObject({ user: null, loading: false, error: null });
  });

  it('login loads /me (with the channel) and tells listeners', async () => {
    vi.stubGlobal(
      'fetch',
      respond({ 'POST /api/auth/login': [200, { user: { ...me, channel: undefined } }], 'GET /api/auth/me': [200, { user: me }] }),
    );
    const seen: unknown[] = [];
    const off = onAuthChange((u) => seen.push(u?.username ?? null));
    await useAuthStore.getState().login('viewer1', 'pw');
    off();
    expect(useAuthStore.getState().user?.channel?.streamKey).toBe('live_old');
    expect(seen).toEqual(['viewer1']);
  });

  it('login failure keeps the message', async () => {
    vi.stubGlobal('fetch', respond({ 'POST /api/auth/login': [401, { error: 'Invalid credentials' }] }));
    await expect(useAuthStore.getState().login('x', 'y')).rejects.toThrow('Invalid credentials');
    expect(useAuthStore.getState().error).toBe('Invalid credentials');
  });

  it('register then logout', async () => {
    vi.stubGlobal(
      'fetch',
      respond({
        'POST /api/auth/register': [201, { user: me }],
        'GET /api/auth/me': [200, { user: me }],
        'POST /api/auth/logout': [200, { success: true }],
      }),
    );
    await useAuthStore.getState().register({ username: 'viewer1', email: 'v@example.com', password: 'longenough' });
    expect(useAuthStore.getState().user?.id).toBe(9);
    await useAuthStore.getState().logout();
    expect(useAuthStore.getState().user).toBeNull();
  });

  it('logout forgets the user even when the server call fails', async () => {
    useAuthStore.setState({ user: me as never, loading: false });
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('offline'))));
    await useAuthStore.getState().logout();
    expect(useAuthStore.getState().user).toBeNull();
  });

  it('rotateStreamKey stores the new key', async () => {
    useAuthStore.setState({ user: me as never, loading: false });
    const fetchMock = respond({ 'POST /api/channels/viewer1/stream-key': [200, { streamKey: 'live_new' }] });
    vi.stubGlobal('fetch', fetchMock);
    await expect(useAuthStore.getState().rotateStreamKey()).resolves.toBe('live_new');
    expect(useAuthStore.getState().user?.channel?.streamKey).toBe('live_new');
  });
});
