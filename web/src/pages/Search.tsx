import { Link } from '@tanstack/react-router';
import { searchApi } from '../api/endpoints';
import type { SearchResults } from '../api/types';
import { Avatar } from '../components/Avatar';
import { CategoryCard, Grid, StreamCard } from '../components/Cards';
import { CardSkeletons, EmptyState, ErrorState } from '../components/States';
import { useAsync, useTitle } from '../lib/useAsync';

export function SearchPage({ q }: { q: string }) {
  const term = q.trim();
  useTitle(term ? `Search: ${term}` : 'Search');
  const r = useAsync<Partial<SearchResults>>((signal) => (term ? searchApi.search(term, signal) : Promise.resolve({})), [term]);

  if (!term) {
    return (
      <div className="mx-auto max-w-lg p-10 text-center">
        <h1 className="mb-2 text-2xl font-black">Search</h1>
        <p className="text-muted">Type a channel, category or person in the search box above.</p>
      </div>
    );
  }

  const channels = r.data?.channels ?? [];
  const categories = r.data?.categories ?? [];
  const users = r.data?.users ?? [];
  const nothing = !r.loading && !r.error && channels.length + categories.length + users.length === 0;

  return (
    <div className="mx-auto max-w-[1600px] space-y-8 p-4 sm:p-6">
      <h1 className="text-2xl font-black">
        Results for <span className="text-brand-soft">“{term}”</span>
      </h1>
      {r.loading ? (
        <CardSkeletons count={4} />
      ) : r.error ? (
        <ErrorState error={r.error} title="Search failed" onRetry={r.reload} />
      ) : nothing ? (
        <EmptyState title="No results">
          Nothing matches “{term}”. Try another spelling, or{' '}
          <Link to="/browse" className="text-brand-soft underline">
            browse
          </Link>
          .
        </EmptyState>
      ) : (
        <>
          {channels.length > 0 && (
            <section aria-labelledby="s-ch">
              <h2 id="s-ch" className="mb-3 text-lg font-bold">
                Channels
              </h2>
              <Grid wide>
                {channels.map((c) => (
                  <StreamCard key={c.id} channel={c} />
                ))}
              </Grid>
            </section>
          )}
          {categories.length > 0 && (
            <section aria-labelledby="s-cat">
              <h2 id="s-cat" className="mb-3 text-lg font-bold">
                Categories
              </h2>
              <Grid>
                {categories.map((c) => (
                  <CategoryCard key={c.id} category={c} />
                ))}
              </Grid>
            </section>
          )}
          {users.length > 0 && (
            <section aria-labelledby="s-us">
              <h2 id="s-us" className="mb-3 text-lg font-bold">
                People
              </h2>
              <ul className="grid gap-2 sm:grid-cols-2 lg:grid-cols-4">
                {users.map((u) => (
                  <li key={u.id}>
                    <Link to="/$channel" params={{ channel: u.username }} className="flex items-center gap-3 rounded-md bg-surface-1 p-3 hover:bg-surface-2">
                      <Avatar name={u.username} url={u.avatarUrl} size={40} />
                      <div className="min-w-0">
                        <p className="truncate font-semibold">{u.displayName}</p>
                        <p className="truncate text-xs text-muted">@{u.username}</p>
                      </div>
                    </Link>
                  </li>
                ))}
              </ul>
            </section>
          )}
        </>
      )}
    </div>
  );
}
