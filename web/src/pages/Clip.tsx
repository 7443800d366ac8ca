import { Link } from '@tanstack/react-router';
import { ApiError } from '../api/client';
import { streamApi } from '../api/endpoints';
import { Avatar } from '../components/Avatar';
import { Player } from '../components/player/Player';
import { ErrorState, Spinner } from '../components/States';
import { formatCount, formatDuration, timeAgo } from '../lib/format';
import { useAsync, useTitle } from '../lib/useAsync';
import { useUiStore } from '../stores/ui';
import { CopyIcon } from '../components/icons';
import { NotFoundPage } from './NotFound';

export function ClipPage({ slug }: { slug: string }) {
  const q = useAsync(() => streamApi.clip(slug), [slug]);
  const clip = q.data?.clip;
  const toast = useUiStore((s) => s.toast);
  useTitle(clip?.title ?? 'Clip');

  if (q.error instanceof ApiError && q.error.status === 404) return <NotFoundPage what="Clip not found" />;
  if (q.loading) return <Spinner label="Loading clip" />;
  if (q.error || !clip) {
    return (
      <div className="p-6">
        <ErrorState error={q.error} title="Couldn't load this clip" onRetry={q.reload} />
      </div>
    );
  }
  const url = clip.hlsUrl || clip.mp4Url;
  const channelName = clip.channel?.user?.displayName ?? clip.channel?.name ?? '';
  return (
    <div className="mx-auto max-w-5xl p-0 sm:p-6">
      {url ? (
        <Player source={{ kind: 'vod', url }} poster={clip.thumbnailUrl} title={clip.title} />
      ) : (
        <div className="flex aspect-video items-center justify-center bg-surface-1 text-muted" role="status">
          This clip is still being prepared. Try again in a few seconds.
        </div>
      )}
      <div className="flex flex-col gap-3 p-3 sm:flex-row sm:items-start sm:justify-between sm:px-0">
        <div className="min-w-0">
          <h1 className="text-xl font-bold">{clip.title}</h1>
          <p className="text-sm text-muted">
            {formatDuration(clip.durationSeconds)} clip
            {clip.viewCount !== undefined ? ` · ${formatCount(clip.viewCount)} views` : ''}
            {clip.creator ? ` · clipped by ${clip.creator.displayName ?? clip.creator.username}` : ''} · {timeAgo(clip.createdAt)}
          </p>
          {clip.channel && (
            <Link to="/$channel" params={{ channel: clip.channel.name }} className="mt-3 inline-flex items-center gap-2 font-semibold hover:text-brand-soft">
              <Avatar name={clip.channel.name} url={clip.channel.user?.avatarUrl} size={32} />
              {channelName}
            </Link>
          )}
        </div>
        <button
          type="button"
          className="btn-secondary shrink-0"
          onClick={() =>
            navigator.clipboard?.writeText(window.location.href).then(
              () => toast('Link copied.', 'success'),
              () => toast('Copy failed.', 'error'),
            )
          }
        >
          <CopyIcon size={16} /> Copy link
        </button>
      </div>
    </div>
  );
}
