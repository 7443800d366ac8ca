import { Link } from '@tanstack/react-router';
import { categoryApi, channelApi } from '../api/endpoints';
import { CategoryCard, Grid, StreamCard } from '../components/Cards';
import { CardSkeletons, EmptyState, ErrorState, SectionHeader } from '../components/States';
import { useAsync, useTitle } from '../lib/useAsync';

export function HomePage() {
  useTitle('Home');
  const live = useAsync(() => channelApi.live(12), []);
  const cats = useAsync(() => categoryApi.list(12), []);

  return (
    <div className="mx-auto max-w-[1600px] space-y-10 p-4 sm:p-6">
      <h1 className="sr-only">twitch-nginx: live channels and top categories</h1>
      <section aria-labelledby="live-heading">
        <SectionHeader
          title="Live channels"
          id="live-heading"
          action={
            <Link to="/browse" search={{ tab: 'live' }} className="text-sm font-semibold text-brand-soft hover:underline">
              Show all
            </Link>
          }
        />
        {live.loading ? (
          <CardSkeletons count={8} />
        ) : live.error ? (
          <ErrorState error={live.error} title="Couldn't load live channels" onRetry={live.reload} />
        ) : live.data?.channels.length ? (
          <Grid wide>
            {live.data.channels.map((c) => (
              <StreamCard key={c.id} channel={c} />
            ))}
          </Grid>
        ) : (
          <EmptyState title="No live channels right now">
            Check back soon — or{' '}
            <Link to="/dashboard" className="text-brand-soft underline">
              start streaming
            </Link>{' '}
            yourself.
          </EmptyState>
        )}
      </section>

      <section aria-labelledby="cat-heading">
        <SectionHeader
          title="Top categories"
          id="cat-heading"
          action={
            <Link to="/browse" search={{ tab: 'categories' }} className="text-sm font-semibold text-brand-soft hover:underline">
              Show all
            </Link>
          }
        />
        {cats.loading ? (
          <div className="h-48 animate-pulse rounded-md bg-surface-1" aria-hidden="true" />
        ) : cats.error ? (
          <ErrorState error={cats.error} title="Couldn't load categories" onRetry={cats.reload} />
        ) : cats.data?.categories.length ? (
          <Grid>
            {cats.data.categories.map((c) => (
              <CategoryCard key={c.id} category={c} />
            ))}
          </Grid>
        ) : (
          <EmptyState title="No categories yet" />
        )}
      </section>
    </div>
  );
}
