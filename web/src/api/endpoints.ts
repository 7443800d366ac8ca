// Every REST endpoint the UI calls, in one place.
import { api, randomId } from './client';
import type {
  BanEntry,
  Category,
  ChannelCard,
  ChannelDetail,
  ChatFilters,
  Clip,
  Emote,
  FollowingItem,
  Me,
  RoleEntry,
  SearchResults,
  UserProfile,
  Vod,
} from './types';

const enc = encodeURIComponent;

function qs(params: Record<string, string | number | undefined>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== '') parts.push(`${enc(k)}=${enc(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

// --- auth -----------------------------------------------------------------

export const authApi = {
  me: () => api.get<{ user: Me }>('/api/auth/me'),
  login: (username: string, password: string) =>
    api.post<{ user: Me }>('/api/auth/login', { username, password }),
  register: (body: { username: string; email: string; password: string; displayName?: string }) =>
    api.post<{ user: Me }>('/api/auth/register', body),
  logout: () => api.post<{ success: boolean }>('/api/auth/logout'),
};

// --- channels ---------------------------------------------------------------

export const channelApi = {
  live: (limit = 20, offset = 0) =>
    api.get<{ channels: ChannelCard[] }>(`/api/channels/live${qs({ limit, offset })}`),
  list: (opts: { category?: string; limit?: number; offset?: number } = {}) =>
    api.get<{ channels: ChannelCard[] }>(`/api/channels${qs(opts)}`),
  get: (name: string) => api.get<{ channel: ChannelDetail }>(`/api/channels/${enc(name)}`),
  follow: (name: string) => api.post<{ success: boolean }>(`/api/channels/${enc(name)}/follow`),
  unfollow: (name: string) => api.del<{ success: boolean }>(`/api/channels/${enc(name)}/follow`),
  subscribe: (name: string, tier: number, idempotencyKey: string = randomId()) =>
    api.post<{ success: boolean; expiresAt?: string; tier?: number; message?: string }>(
      `/api/channels/${enc(name)}/subscribe`,
      { tier },
      { headers: { 'Idempotency-Key': idempotencyKey } },
    ),
  update: (
    name: string,
    body: { title?: string; categoryId?: number | null; description?: string; tags?: string[] },
  ) => api.patch<{ success: boolean }>(`/api/channels/${enc(name)}`, body),
  rotateStreamKey: (name: string) =>
    api.post<{ streamKey: string }>(`/api/channels/${enc(name)}/stream-key`),
  clips: (name: string, limit = 20) =>
    api.get<{ clips: Clip[] }>(`/api/channels/${enc(name)}/clips${qs({ limit })}`),
};

// --- categories -------------------------------------------------------------

export const categoryApi = {
  list: (limit = 50, offset = 0) =>
    api.get<{ categories: Category[] }>(`/api/categories${qs({ limit, offset })}`),
  get: (slug: string) => api.get<{ category: Category }>(`/api/categories/${enc(slug)}`),
  channels: (slug: string, limit = 24) =>
    api.get<{ channels: ChannelCard[] }>(`/api/categories/${enc(slug)}/channels${qs({ limit })}`),
};

// --- streams, VODs, clips -----------------------------------------------------

export const streamApi = {
  vods: (channelId: number, limit = 20) =>
    api.get<{ vods: Vod[] }>(`/api/streams/${channelId}/vods${qs({ limit })}`),
  vod: (id: string | number) => api.get<{ vod: Vod }>(`/api/vods/${enc(String(id))}`),
  clip: (slug: string) => api.get<{ clip: Clip }>(`/api/clips/${enc(slug)}`),
  createClip: (channel: string, durationSeconds = 30) =>
    api.post<{ clip: Clip }>('/api/clips', { channel, durationSeconds }),
};

// --- users, following, search ------------------------------------------------

export const userApi = {
  get: (username: string) => api.get<{ user: UserProfile }>(`/api/users/${enc(username)}`),
  following: (username: string, limit = 100) =>
    api.get<{ following: FollowingItem[] }>(`/api/users/${enc(username)}/following${qs({ limit })}`),
  myFollowing: (limit = 100) => api.get<{ following?: FollowingItem[]; channels?: FollowingItem[] }>(
    `/api/following${qs({ limit })}`,
  ),
};

export const searchApi = {
  search: (q: string, signal?: AbortSignal) =>
    api.get<Partial<SearchResults>>(`/api/search${qs({ q })}`, { signal }),
};

// --- emotes -----------------------------------------------------------------

export const emoteApi = {
  available: (channelId: number) => api.get<{ emotes: Emote[] }>(`/api/emotes/available/${channelId}`),
};

// --- moderation ---------------------------------------------------------------

const mod = (channelId: number, rest: string) => `/api/moderation/${channelId}${rest}`;

export const moderationApi = {
  deleteMessage: (channelId: number, messageId: string | number) =>
    api.del<{ success: boolean }>(mod(channelId, `/message/${enc(String(messageId))}`)),
  timeout: (channelId: number, userId: number, durationSeconds: number, reason?: string) =>
    api.post<{ success: boolean }>(mod(channelId, '/timeout'), { userId, durationSeconds, reason }),
  untimeout: (channelId: number, userId: number) =>
    api.del<{ success: boolean }>(mod(channelId, `/timeout/${userId}`)),
  ban: (channelId: number, userId: number, reason?: string) =>
    api.post<{ success: boolean }>(mod(channelId, '/ban'), { userId, reason }),
  unban: (channelId: number, userId: number) => api.del<{ success: boolean }>(mod(channelId, `/ban/${userId}`)),
  clear: (channelId: number) => api.post<{ success: boolean }>(mod(channelId, '/clear')),
  bans: (channelId: number) => api.get<{ bans: BanEntry[] }>(mod(channelId, '/bans')),
  moderators: (channelId: number) => api.get<{ moderators: RoleEntry[] }>(mod(channelId, '/moderators')),
  addModerator: (channelId: number, userId: number) =>
    api.post<{ success: boolean }>(mod(channelId, '/moderator'), { userId }),
  removeModerator: (channelId: number, userId: number) =>
    api.del<{ success: boolean }>(mod(channelId, `/moderator/${userId}`)),
  vips: (channelId: number) => api.get<{ vips: RoleEntry[] }>(mod(channelId, '/vips')),
  addVip: (channelId: number, userId: number) => api.post<{ success: boolean }>(mod(channelId, '/vip'), { userId }),
  removeVip: (channelId: number, userId: number) =>
    api.del<{ success: boolean }>(mod(channelId, `/vip/${userId}`)),
  filters: (channelId: number) => api.get<{ filters: ChatFilters }>(mod(channelId, '/filters')),
  setSlowMode: (channelId: number, enabled: boolean, durationSeconds: number) =>
    api.post<{ success: boolean }>(mod(channelId, '/filters/slow-mode'), { enabled, durationSeconds }),
  setEmoteOnly: (channelId: number, enabled: boolean) =>
    api.post<{ success: boolean }>(mod(channelId, '/filters/emote-only'), { enabled }),
  setSubscriberOnly: (channelId: number, enabled: boolean) =>
    api.post<{ success: boolean }>(mod(channelId, '/filters/subscriber-only'), { enabled }),
  setFollowerOnly: (channelId: number, enabled: boolean, durationMinutes: number) =>
    api.post<{ success: boolean }>(mod(channelId, '/filters/follower-only'), { enabled, durationMinutes }),
  setUniqueChat: (channelId: number, enabled: boolean) =>
    api.post<{ success: boolean }>(mod(channelId, '/filters/unique-chat'), { enabled }),
};
