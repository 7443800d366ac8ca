import { Link } from '@tanstack/react-router';
import { ApiError } from '../api/client';
import { userApi } from '../api/endpoints';
import type { FollowingItem } from '../api/types';
import { Avatar } from '../components/Avatar';
import { Grid, StreamCard } from '../components/Cards';
import { CardSkeletons, EmptyState, ErrorState } from '../components/States';
import { timeAgo } from '../lib/format';
import { useAsync, useTitle } from '../lib/useAsync';
import { useAuthStore } from '../stores/auth';
import { useUiStore } from '../stores/ui';

/** GET /api/following (live first); older servers only have /api/users/:name/following. */
export async function loadFollowing(username: string): Promise<FollowingItem[]> {
  let list: FollowingItem[];
  try {
    const r = await userApi.myFollowing();
    list = r.following ?? r.channels ?? [];
  } catch (err) {
    if (!(err instanceof ApiError) || (err.status !== 404 && err.status !== 405)) throw err;
    list = (await userApi.following(username)).following;
  }
  return [...list].sort((a, b) => Number(b.isLive) - Number(a.isLive) || b.viewerCount - a.viewerCount);
}

export function FollowingPage() {
  useTitle('Following');
  const user = useAuthStore((s) => s.user);
  const loading = useAuthStore((s) => s.loading);
  const openAuth = useUiStore((s) => s.openAuth);
  const q = useAsync(() => (user ? loadFollowing(user.username) : Promise.resolve([])), [user?.username]);

  if (loading) return <div className="p-6"><CardSkeletons count={4} /></div>;
  if (!user) {
    return (
      <div className="mx-auto max-w-lg p-10 text-center">
        <h1 className="mb-2 text-2xl font-black">Following</h1>
        <p className="mb-4 text-muted">Log in to see the channels you follow.</p>
        <button type="button" className="btn-primary" onClick={() => openAuth('login')}>
          Log in
        </button>
      </div>
    );
  }

  const live = q.data?.filter((c) => c.isLive) ?? [];
  const offline = q.data?.filter((c) => !c.isLive) ?? [];

  return (
    <div className="mx-auto max-w-[1600px] p-4 sm:p-6">
      <h1 className="mb-6 text-3xl font-black">Following</h1>
      {q.loading ? (
        <CardSkeletons count={4} />
      ) : q.error ? (
        <ErrorState error={q.error} title="Couldn't load the channels you follow" onRetry={q.reload} />
      ) : !q.data?.length ? (
        <EmptyState title="You don't follow anyone yet">
          <Link to="/browse" className="text-brand-soft hover:underline">
            Find channels to follow
          </Link>
        </EmptyState>
      ) : (
        <div className="space-y-8">
          <section aria-labelledby="f-live">
            <h2 id="f-live" className="mb-3 text-lg font-bold">
              Live now
            </h2>
            {live.length ? (
              <Grid wide>
                {live.map((c) => (
                  <StreamCard
                    key={c.id}
                    channel={{ ...c, followerCount: 0, category: c.category ?? null }}
                  />
                ))}
              </Grid>
            ) : (
              <p className="text-sm text-muted">None of the channels you follow is live.</p>
            )}
          </section>
          {offline.length > 0 && (
            <section aria-labelledby="f-off">
              <h2 id="f-off" className="mb-3 text-lg font-bold">
                Offline
              </h2>
              <ul className="grid gap-2 sm:grid-cols-2 lg:grid-cols-3">
                {offline.map((c) => (
                  <li key={c.id}>
                    <Link to="/$channel" params={{ channel: c.name }} className="flex items-center gap-3 rounded-md bg-surface-1 p-3 hover:bg-surface-2">
                      <Avatar name={c.name} url={c.user?.avatarUrl} size={40} />
                      <div className="min-w-0">
                        <p className="truncate font-semibold">{c.user?.displayName ?? c.name}</p>
                        <p className="truncate text-xs text-muted">Offline · followed {timeAgo(c.followedAt)}</p>
                      </div>
                    </Link>
                  </li>
                ))}
              </ul>
            </section>
          )}
        </div>
      )}
    </div>
  );
}
