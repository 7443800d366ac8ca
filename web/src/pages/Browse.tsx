import { Link, useNavigate } from '@tanstack/react-router';
import type { KeyboardEvent } from 'react';
import { categoryApi, channelApi } from '../api/endpoints';
import { CategoryCard, Grid, StreamCard } from '../components/Cards';
import { CardSkeletons, EmptyState, ErrorState } from '../components/States';
import { listKeyTarget } from '../lib/keys';
import { useAsync, useTitle } from '../lib/useAsync';

export type BrowseTab = 'live' | 'categories';

function LiveTab() {
  const q = useAsync(() => channelApi.live(48), []);
  if (q.loading) return <CardSkeletons count={8} />;
  if (q.error) return <ErrorState error={q.error} title="Couldn't load live channels" onRetry={q.reload} />;
  if (!q.data?.channels.length) return <EmptyState title="No live channels right now">Nobody is streaming at the moment.</EmptyState>;
  return (
    <Grid wide>
      {q.data.channels.map((c) => (
        <StreamCard key={c.id} channel={c} />
      ))}
    </Grid>
  );
}

function CategoriesTab() {
  const q = useAsync(() => categoryApi.list(100), []);
  if (q.loading) return <div className="h-64 animate-pulse rounded-md bg-surface-1" aria-hidden="true" />;
  if (q.error) return <ErrorState error={q.error} title="Couldn't load categories" onRetry={q.reload} />;
  if (!q.data?.categories.length) return <EmptyState title="No categories yet" />;
  return (
    <Grid>
      {q.data.categories.map((c) => (
        <CategoryCard key={c.id} category={c} />
      ))}
    </Grid>
  );
}

const TABS: BrowseTab[] = ['live', 'categories'];
const TAB_NAMES: Record<BrowseTab, string> = { live: 'Live channels', categories: 'Categories' };

export function BrowsePage({ tab }: { tab: BrowseTab }) {
  useTitle('Browse');
  const navigate = useNavigate();
  // one tab stop; the arrows, Home and End switch between the two lists
  const onTabKey = (e: KeyboardEvent<HTMLAnchorElement>) => {
    const next = listKeyTarget(e.key, TABS.indexOf(tab), TABS.length, 'horizontal');
    if (next === null) return;
    e.preventDefault();
    void navigate({ to: '/browse', search: { tab: TABS[next] } }).then(() => document.getElementById(`browse-tab-${TABS[next]}`)?.focus());
  };
  const tabCls = (active: boolean) =>
    `border-b-2 px-1 pb-2 text-sm font-semibold ${active ? 'border-brand text-brand-soft' : 'border-transparent text-muted hover:text-ink'}`;
  return (
    <div className="mx-auto max-w-[1600px] p-4 sm:p-6">
      <h1 className="mb-4 text-3xl font-black">Browse</h1>
      <div role="tablist" aria-label="Browse" className="mb-6 flex gap-6 border-b border-line">
        {TABS.map((t) => (
          <Link
            key={t}
            id={`browse-tab-${t}`}
            to="/browse"
            search={{ tab: t }}
            role="tab"
            aria-selected={tab === t}
            aria-controls="browse-tabpanel"
            tabIndex={tab === t ? 0 : -1}
            className={tabCls(tab === t)}
            onKeyDown={onTabKey}
          >
            {TAB_NAMES[t]}
          </Link>
        ))}
      </div>
      <div role="tabpanel" id="browse-tabpanel" aria-labelledby={`browse-tab-${tab}`}>
        {tab === 'categories' ? <CategoriesTab /> : <LiveTab />}
      </div>
    </div>
  );
}
