import { Link } from '@tanstack/react-router';
import { ApiError } from '../api/client';
import { streamApi } from '../api/endpoints';
import { Avatar } from '../components/Avatar';
import { VodCard } from '../components/Cards';
import { Player } from '../components/player/Player';
import { ErrorState, Spinner } from '../components/States';
import { formatCount, formatDate, formatDuration, timeAgo } from '../lib/format';
import { useAsync, useTitle } from '../lib/useAsync';
import { NotFoundPage } from './NotFound';

function MoreVideos({ channelId, channelName, exclude }: { channelId: number; channelName: string; exclude: number }) {
  const q = useAsync(() => streamApi.vods(channelId, 7), [channelId]);
  const list = q.data?.vods.filter((v) => v.id !== exclude).slice(0, 6) ?? [];
  if (!list.length) return null;
  return (
    <section className="mt-8" aria-labelledby="more-vods">
      <h2 id="more-vods" className="mb-3 text-lg font-bold">
        More from {channelName}
      </h2>
      <div className="grid grid-cols-1 gap-4 sm:grid-cols-2 xl:grid-cols-3">
        {list.map((v) => (
          <VodCard key={v.id} vod={v} channelName={channelName} />
        ))}
      </div>
    </section>
  );
}

export function VodPage({ id }: { id: string }) {
  const q = useAsync(() => streamApi.vod(id), [id]);
  const vod = q.data?.vod;
  useTitle(vod?.title ?? 'Video');

  if (q.error instanceof ApiError && q.error.status === 404) return <NotFoundPage what="Video not found" />;
  if (q.loading) return <Spinner label="Loading video" />;
  if (q.error || !vod) {
    return (
      <div className="p-6">
        <ErrorState error={q.error} title="Couldn't load this video" onRetry={q.reload} />
      </div>
    );
  }

  const channelName = vod.channel?.user?.displayName ?? vod.channel?.name ?? '';
  return (
    <div className="mx-auto max-w-6xl p-0 sm:p-6">
      {vod.vodUrl ? (
        <Player source={{ kind: 'vod', url: vod.vodUrl }} poster={vod.thumbnailUrl} title={vod.title} autoPlay={false} />
      ) : (
        <div className="flex aspect-video items-center justify-center bg-surface-1 text-muted">This recording is no longer available.</div>
      )}
      <div className="p-3 sm:px-0">
        <h1 className="text-xl font-bold">{vod.title}</h1>
        <p className="text-sm text-muted">
          {formatDate(vod.startedAt)} ({timeAgo(vod.startedAt)}) · {formatDuration(vod.duration)} · {formatCount(vod.totalViews)} views
          {vod.peakViewers ? ` · peak ${formatCount(vod.peakViewers)} viewers` : ''}
          {vod.category && (
            <>
              {' · '}
              <Link to="/category/$slug" params={{ slug: vod.category.slug }} className="text-brand-soft underline">
                {vod.category.name}
              </Link>
            </>
          )}
        </p>
        {vod.channel && (
          <Link to="/$channel" params={{ channel: vod.channel.name }} className="mt-3 inline-flex items-center gap-2 font-semibold hover:text-brand-soft">
            <Avatar name={vod.channel.name} url={vod.channel.user?.avatarUrl} size={32} />
            {channelName}
          </Link>
        )}
        {vod.channel?.id !== undefined && <MoreVideos channelId={vod.channel.id} channelName={channelName} exclude={vod.id} />}
      </div>
    </div>
  );
}
