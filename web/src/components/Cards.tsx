import { Link } from '@tanstack/react-router';
import { useState } from 'react';
import type { Category, ChannelCard, Clip, Vod } from '../api/types';
import { formatCount, formatDuration, timeAgo, viewersLabel } from '../lib/format';
import { nameColor, initial } from '../lib/color';
import { Avatar } from './Avatar';

function Thumb({ url, name, alt }: { url: string | null | undefined; name: string; alt: string }) {
  const [broken, setBroken] = useState(false);
  if (url && !broken) {
    return (
      <img
        src={url}
        alt={alt}
        loading="lazy"
        decoding="async"
        onError={() => setBroken(true)}
        className="h-full w-full object-cover"
      />
    );
  }
  const c = nameColor(name);
  return (
    <div
      className="flex h-full w-full items-center justify-center"
      style={{ background: `linear-gradient(135deg, ${c}55, #18181b 70%)` }}
      {...(alt ? { role: 'img', 'aria-label': alt } : { 'aria-hidden': true })}
    >
      <span className="text-4xl font-black text-white/70">{initial(name)}</span>
    </div>
  );
}

export function LiveBadge({ className = '' }: { className?: string }) {
  return (
    <span className={`rounded bg-live px-1.5 py-0.5 text-xs font-bold uppercase tracking-wide text-white ${className}`}>
      Live
    </span>
  );
}

export function StreamCard({ channel }: { channel: ChannelCard }) {
  const name = channel.user?.displayName || channel.name;
  return (
    <article className="group min-w-0">
      <Link
        to="/$channel"
        params={{ channel: channel.name }}
        className="relative block aspect-video overflow-hidden rounded-md bg-surface-2 outline-offset-2 transition-transform group-hover:-translate-y-0.5"
        data-testid="stream-card"
      >
        {/* the link's name: who and what, then the badges it shows */}
        <span className="sr-only">
          {name}: {channel.title},{' '}
        </span>
        <Thumb url={channel.thumbnailUrl} name={channel.name} alt="" />
        {channel.isLive ? (
          <>
            <LiveBadge className="absolute left-2 top-2" />
            <span className="absolute bottom-2 left-2 rounded bg-black/75 px-1.5 py-0.5 text-xs">
              {viewersLabel(channel.viewerCount)}
            </span>
          </>
        ) : (
          <span className="absolute left-2 top-2 rounded bg-black/75 px-1.5 py-0.5 text-xs text-muted">Offline</span>
        )}
      </Link>
      <div className="mt-2 flex gap-2">
        <Link to="/$channel" params={{ channel: channel.name }} tabIndex={-1} aria-hidden="true">
          <Avatar name={channel.name} url={channel.user?.avatarUrl} size={36} />
        </Link>
        <div className="min-w-0 text-sm">
          <p className="truncate font-semibold" title={channel.title}>
            {channel.title}
          </p>
          <p className="truncate text-muted">{name}</p>
          {channel.category && (
            <Link
              to="/category/$slug"
              params={{ slug: channel.category.slug }}
              className="truncate text-muted hover:text-brand-soft"
            >
              {channel.category.name}
            </Link>
          )}
          {channel.tags && channel.tags.length > 0 && (
            <div className="mt-1 flex flex-wrap gap-1">
              {channel.tags.slice(0, 3).map((t) => (
                <span key={t} className="rounded-full bg-surface-3 px-2 py-0.5 text-xs text-muted">
                  {t}
                </span>
              ))}
            </div>
          )}
        </div>
      </div>
    </article>
  );
}

export function CategoryCard({ category }: { category: Category }) {
  return (
    <Link
      to="/category/$slug"
      params={{ slug: category.slug }}
      className="group block min-w-0"
      data-testid="category-card"
    >
      <div className="aspect-[3/4] overflow-hidden rounded-md bg-surface-2 transition-transform group-hover:-translate-y-0.5">
        <Thumb url={category.imageUrl ?? `/categories/${category.slug}.svg`} name={category.name} alt="" />
      </div>
      <p className="mt-1.5 truncate text-sm font-semibold">{category.name}</p>
      <p className="truncate text-xs text-muted">
        {viewersLabel(category.viewerCount)} · {formatCount(category.liveChannels)} live
      </p>
    </Link>
  );
}

export function VodCard({ vod, channelName }: { vod: Vod; channelName?: string }) {
  return (
    <article className="min-w-0">
      <Link to="/videos/$id" params={{ id: String(vod.id) }} className="relative block aspect-video overflow-hidden rounded-md bg-surface-2">
        <Thumb url={vod.thumbnailUrl} name={channelName ?? vod.title} alt="" />
        <span className="absolute bottom-2 left-2 rounded bg-black/75 px-1.5 py-0.5 text-xs">{formatDuration(vod.duration)}</span>
        <span className="absolute bottom-2 right-2 rounded bg-black/75 px-1.5 py-0.5 text-xs">{timeAgo(vod.startedAt)}</span>
      </Link>
      <Link to="/videos/$id" params={{ id: String(vod.id) }} className="mt-1.5 block truncate text-sm font-semibold hover:text-brand-soft">
        {vod.title}
      </Link>
      <p className="truncate text-xs text-muted">
        {formatCount(vod.totalViews)} views{vod.category ? ` · ${vod.category.name}` : ''}
      </p>
    </article>
  );
}

export function ClipCard({ clip }: { clip: Clip }) {
  return (
    <article className="min-w-0">
      <Link to="/clip/$slug" params={{ slug: clip.slug }} className="relative block aspect-video overflow-hidden rounded-md bg-surface-2">
        <Thumb url={clip.thumbnailUrl} name={clip.channel?.name ?? clip.title} alt="" />
        <span className="absolute bottom-2 left-2 rounded bg-black/75 px-1.5 py-0.5 text-xs">
          {formatDuration(clip.durationSeconds)}
        </span>
      </Link>
      <Link to="/clip/$slug" params={{ slug: clip.slug }} className="mt-1.5 block truncate text-sm font-semibold hover:text-brand-soft">
        {clip.title}
      </Link>
      <p className="truncate text-xs text-muted">
        {clip.viewCount !== undefined ? `${formatCount(clip.viewCount)} views · ` : ''}
        {clip.creator ? `clipped by ${clip.creator.displayName ?? clip.creator.username} · ` : ''}
        {timeAgo(clip.createdAt)}
      </p>
    </article>
  );
}

export function Grid({ children, wide = false }: { children: React.ReactNode; wide?: boolean }) {
  return (
    <div
      className={
        wide
          ? 'grid grid-cols-1 gap-x-4 gap-y-6 sm:grid-cols-2 lg:grid-cols-3 2xl:grid-cols-4'
          : 'grid grid-cols-3 gap-3 sm:grid-cols-4 md:grid-cols-5 lg:grid-cols-6 2xl:grid-cols-8'
      }
    >
      {children}
    </div>
  );
}
