import { Link } from '@tanstack/react-router';
import { ApiError } from '../api/client';
import { categoryApi } from '../api/endpoints';
import { Grid, StreamCard } from '../components/Cards';
import { CardSkeletons, EmptyState, ErrorState } from '../components/States';
import { formatCount, viewersLabel } from '../lib/format';
import { useAsync, useTitle } from '../lib/useAsync';
import { NotFoundPage } from './NotFound';

export function CategoryPage({ slug }: { slug: string }) {
  const cat = useAsync(() => categoryApi.get(slug), [slug]);
  const live = useAsync(() => categoryApi.channels(slug, 48), [slug]);
  useTitle(cat.data?.category.name ?? 'Category');

  if (cat.error instanceof ApiError && cat.error.status === 404) {
    return <NotFoundPage what="Category not found" />;
  }
  const c = cat.data?.category;
  return (
    <div className="mx-auto max-w-[1600px] p-4 sm:p-6">
      {cat.loading ? (
        <div className="mb-8 flex gap-4" aria-hidden="true">
          <div className="h-40 w-30 animate-pulse rounded-md bg-surface-1" />
          <div className="h-8 w-64 animate-pulse rounded bg-surface-1" />
        </div>
      ) : cat.error ? (
        <div className="mb-8">
          <ErrorState error={cat.error} title="Couldn't load this category" onRetry={cat.reload} />
        </div>
      ) : c ? (
        <header className="mb-8 flex items-end gap-4">
          <img src={c.imageUrl ?? `/categories/${c.slug}.svg`} alt="" className="h-40 w-30 shrink-0 rounded-md bg-surface-2 object-cover" />
          <div>
            <h1 className="text-3xl font-black">{c.name}</h1>
            <p className="mt-1 text-muted">
              {viewersLabel(c.viewerCount)} · {formatCount(c.liveChannels)} live {c.liveChannels === 1 ? 'channel' : 'channels'}
            </p>
          </div>
        </header>
      ) : null}

      <h2 className="mb-3 text-lg font-bold">Live channels</h2>
      {live.loading ? (
        <CardSkeletons count={4} />
      ) : live.error ? (
        <ErrorState error={live.error} title="Couldn't load live channels" onRetry={live.reload} />
      ) : live.data?.channels.length ? (
        <Grid wide>
          {live.data.channels.map((ch) => (
            <StreamCard key={ch.id} channel={ch} />
          ))}
        </Grid>
      ) : (
        <EmptyState title={`No one is streaming ${c?.name ?? 'this category'} right now`}>
          <Link to="/browse" className="text-brand-soft hover:underline">
            Browse other categories
          </Link>
        </EmptyState>
      )}
    </div>
  );
}
