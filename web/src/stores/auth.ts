// Who is signed in. The session itself is an httpOnly cookie; this store
// only mirrors GET /api/auth/me.
import { create } from 'zustand';
import { ApiError, errorMessage } from '../api/client';
import { authApi, channelApi } from '../api/endpoints';
import type { Me } from '../api/types';

export interface AuthState {
  user: Me | null;
  /** true until the first /api/auth/me answer */
  loading: boolean;
  error: string | null;
  fetchMe: () => Promise<Me | null>;
  login: (username: string, password: string) => Promise<Me>;
  register: (body: { username: string; email: string; password: string; displayName?: string }) => Promise<Me>;
  logout: () => Promise<void>;
  rotateStreamKey: () => Promise<string>;
  clearError: () => void;
}

/** Called after the identity changes (the chat socket reconnects). */
const listeners = new Set<(user: Me | null) => void>();
export function onAuthChange(fn: (user: Me | null) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
function emit(user: Me | null) {
  for (const fn of listeners) fn(user);
}

export const useAuthStore = create<AuthState>()((set, get) => ({
  user: null,
  loading: true,
  error: null,

  fetchMe: async () => {
    try {
      const { user } = await authApi.me();
      set({ user, loading: false });
      return user;
    } catch {
      // 401 simply means "not signed in"; other failures leave us signed out too
      set({ user: null, loading: false });
      return null;
    }
  },

  login: async (username, password) => {
    set({ error: null });
    try {
      const res = await authApi.login(username, password);
      // /me carries the channel (and its stream key); login does not
      const user = (await get().fetchMe()) ?? res.user;
      set({ user });
      emit(user);
      return user;
    } catch (err) {
      set({ error: errorMessage(err) });
      throw err;
    }
  },

  register: async (body) => {
    set({ error: null });
    try {
      const res = await authApi.register(body);
      const user = (await get().fetchMe()) ?? res.user;
      set({ user });
      emit(user);
      return user;
    } catch (err) {
      set({ error: errorMessage(err) });
      throw err;
    }
  },

  logout: async () => {
    try {
      await authApi.logout();
    } catch {
      /* the cookie may already be gone; forget the user anyway */
    }
    set({ user: null, error: null });
    emit(null);
  },

  rotateStreamKey: async () => {
    const user = get().user;
    const name = user?.channel?.name ?? user?.username;
    if (!user || !name) throw new ApiError(401, 'Please log in first.');
    const { streamKey } = await channelApi.rotateStreamKey(name);
    const cur = get().user;
    if (cur && cur.channel) set({ user: { ...cur, channel: { ...cur.channel, streamKey } } });
    return streamKey;
  },

  clearError: () => set({ error: null }),
}));
