// JSON shapes of the REST API (camelCase, as served under /api).
// Fields marked optional are ones the UI tolerates being absent.

export type Role = 'user' | 'admin' | 'moderator';

export interface CategoryRef {
  id?: number;
  name: string;
  slug: string;
}

export interface UserRef {
  id?: number;
  username: string;
  displayName: string;
  avatarUrl: string | null;
}

/** Channel card (CH) of the channel listings. */
export interface ChannelCard {
  id: number;
  name: string;
  title: string;
  isLive: boolean;
  viewerCount: number;
  followerCount: number;
  thumbnailUrl: string | null;
  user: UserRef;
  category: CategoryRef | null;
  tags?: string[];
}

/** GET /api/channels/:name */
export interface ChannelDetail extends ChannelCard {
  description: string | null;
  subscriberCount: number;
  offlineBannerUrl: string | null;
  createdAt: string;
  user: UserRef & { id: number; bio: string | null };
  isFollowing: boolean;
  isSubscribed: boolean;
  subscriptionTier?: number | null;
  /** the signed-in user owns this channel */
  isOwner?: boolean;
  /** set when the signed-in user moderates this channel (owner, channel mod, admin) */
  isModerator?: boolean;
}

/** Category item (CAT). */
export interface Category {
  id: number;
  name: string;
  slug: string;
  imageUrl: string | null;
  liveChannels: number;
  viewerCount: number;
}

export interface MeChannel {
  id: number | null;
  name?: string | null;
  streamKey: string | null;
  isLive: boolean | null;
  /** optional: RTMP server URL when the server knows its public ingest address */
  ingestUrl?: string | null;
}

export interface Me {
  id: number;
  username: string;
  email: string;
  displayName: string;
  avatarUrl: string | null;
  role: Role;
  channel: MeChannel | null;
}

export interface FollowingItem {
  id: number;
  name: string;
  title: string;
  isLive: boolean;
  viewerCount: number;
  thumbnailUrl: string | null;
  followedAt: string;
  user: UserRef;
  category: CategoryRef | null;
}

export interface Vod {
  id: number;
  title: string;
  startedAt: string;
  endedAt: string | null;
  duration: number;
  peakViewers: number;
  totalViews: number;
  thumbnailUrl: string | null;
  vodUrl: string | null;
  category: CategoryRef | null;
  /** present on GET /api/vods/:id */
  channel?: { id: number; name: string; user?: UserRef } | null;
}

export interface Clip {
  id: number;
  slug: string;
  title: string;
  durationSeconds: number;
  viewCount?: number;
  thumbnailUrl?: string | null;
  hlsUrl?: string | null;
  mp4Url?: string | null;
  createdAt: string;
  channel?: { id?: number; name: string; user?: UserRef } | null;
  creator?: { username: string; displayName?: string } | null;
}

export interface Emote {
  id: number;
  code: string;
  imageUrl: string;
  tier: number;
  isGlobal: boolean;
  locked?: boolean;
}

export interface ChatFilters {
  slowMode: { enabled: boolean; durationSeconds: number };
  emoteOnly: boolean;
  subscriberOnly: boolean;
  followerOnly: { enabled: boolean; durationMinutes: number };
  uniqueChat?: boolean;
}

export interface BanEntry {
  userId: number;
  username: string;
  displayName?: string;
  avatarUrl?: string | null;
  reason?: string | null;
  expiresAt: string | null;
  createdAt?: string;
  bannedByUsername?: string | null;
  isPermanent: boolean;
}

export interface RoleEntry {
  userId: number;
  username: string;
  displayName?: string;
  avatarUrl?: string | null;
  addedAt?: string;
}

export interface SearchUser {
  id: number;
  username: string;
  displayName: string;
  avatarUrl: string | null;
}

export interface SearchResults {
  channels: ChannelCard[];
  categories: Category[];
  users: SearchUser[];
}

export interface UserProfile {
  id: number;
  username: string;
  displayName: string;
  avatarUrl: string | null;
  bio: string | null;
  createdAt: string;
  channel: { id: number; followerCount: number; subscriberCount: number; isLive: boolean } | null;
}
