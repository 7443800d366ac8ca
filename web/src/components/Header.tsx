import { Link, useNavigate, useRouterState } from '@tanstack/react-router';
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { searchApi } from '../api/endpoints';
import type { SearchResults } from '../api/types';
import { useAuthStore } from '../stores/auth';
import { useUiStore } from '../stores/ui';
import { viewersLabel } from '../lib/format';
import { focusItemByKey, listKeyTarget } from '../lib/keys';
import { Avatar } from './Avatar';
import { Logo, SearchIcon } from './icons';

function SearchBox() {
  const navigate = useNavigate();
  const location = useRouterState({ select: (s) => s.location });
  const urlQ = location.pathname === '/search' ? String((location.search as { q?: string }).q ?? '') : '';
  const [q, setQ] = useState(urlQ);
  const [open, setOpen] = useState(false);
  const [hits, setHits] = useState<Partial<SearchResults> | null>(null);
  const [active, setActive] = useState(-1);
  const listId = useId();
  const wrap = useRef<HTMLDivElement>(null);

  useEffect(() => setQ(urlQ), [urlQ]);

  // quick suggestions while typing
  useEffect(() => {
    const term = q.trim();
    if (term.length < 2 || !open) {
      setHits(null);
      return;
    }
    const ctl = new AbortController();
    const t = setTimeout(() => {
      searchApi.search(term, ctl.signal).then(
        (r) => setHits(r),
        () => setHits(null),
      );
    }, 250);
    return () => {
      clearTimeout(t);
      ctl.abort();
    };
  }, [q, open]);

  useEffect(() => setActive(-1), [hits]);

  useEffect(() => {
    const onDoc = (e: MouseEvent) => {
      if (wrap.current && !wrap.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', onDoc);
    return () => document.removeEventListener('mousedown', onDoc);
  }, []);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const term = q.trim();
    setOpen(false);
    if (term) void navigate({ to: '/search', search: { q: term } });
  };

  const channels = hits?.channels?.slice(0, 5) ?? [];
  const categories = hits?.categories?.slice(0, 3) ?? [];
  const count = channels.length + categories.length;
  const showList = open && count > 0;
  const optionId = (i: number) => `${listId}-${i}`;
  const option = (i: number) =>
    `flex items-center gap-2 px-3 py-1.5 text-sm hover:bg-surface-3 ${i === active ? 'bg-surface-3 outline-2 -outline-offset-2 outline-brand-soft' : ''}`;

  const onKeyDown = (e: React.KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      if (!showList) {
        if (e.key === 'ArrowDown') setOpen(true);
        return;
      }
      e.preventDefault();
      const next = listKeyTarget(e.key, active, count);
      if (next !== null) setActive(next);
    } else if (e.key === 'Enter' && showList && active >= 0) {
      e.preventDefault();
      document.getElementById(optionId(active))?.click();
    } else if (e.key === 'Escape' && showList) {
      // first Escape closes the suggestions, a second one (the browser's) clears the box
      e.preventDefault();
      setOpen(false);
      setActive(-1);
    }
  };

  return (
    <div
      ref={wrap}
      className="relative min-w-0 flex-1 sm:max-w-md"
      onBlur={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setOpen(false);
      }}
    >
      <form role="search" onSubmit={submit} className="flex">
        <label htmlFor="site-search" className="sr-only">
          Search channels, categories and people
        </label>
        <input
          id="site-search"
          type="search"
          className="input rounded-r-none py-1.5"
          placeholder="Search"
          autoComplete="off"
          value={q}
          aria-controls={showList ? listId : undefined}
          aria-expanded={showList}
          aria-activedescendant={showList && active >= 0 ? optionId(active) : undefined}
          role="combobox"
          aria-autocomplete="list"
          onFocus={() => setOpen(true)}
          onChange={(e) => {
            setQ(e.target.value);
            setOpen(true);
          }}
          onKeyDown={onKeyDown}
        />
        <button type="submit" className="rounded-r-md bg-surface-3 px-3 text-ink hover:bg-line" aria-label="Search">
          <SearchIcon size={18} />
        </button>
      </form>
      {showList && (
        <div
          id={listId}
          role="listbox"
          aria-label="Suggestions"
          className="absolute left-0 right-0 top-full z-40 mt-1 overflow-hidden rounded-md border border-line bg-surface-1 py-1 shadow-xl"
        >
          {channels.map((c, i) => (
            <Link
              key={`c${c.id}`}
              id={optionId(i)}
              role="option"
              aria-selected={i === active}
              tabIndex={-1}
              to="/$channel"
              params={{ channel: c.name }}
              className={option(i)}
              onClick={() => setOpen(false)}
            >
              <Avatar name={c.name} url={c.user?.avatarUrl} size={24} live={c.isLive} />
              <span className="truncate">{c.user?.displayName ?? c.name}</span>
              {c.isLive && <span className="ml-auto shrink-0 text-xs text-muted">{viewersLabel(c.viewerCount)}</span>}
            </Link>
          ))}
          {categories.map((c, j) => {
            const i = channels.length + j;
            return (
              <Link
                key={`k${c.id}`}
                id={optionId(i)}
                role="option"
                aria-selected={i === active}
                tabIndex={-1}
                to="/category/$slug"
                params={{ slug: c.slug }}
                className={option(i)}
                onClick={() => setOpen(false)}
              >
                <img src={c.imageUrl ?? `/categories/${c.slug}.svg`} alt="" className="h-6 w-[18px] rounded-sm object-cover" />
                <span className="truncate">{c.name}</span>
              </Link>
            );
          })}
        </div>
      )}
    </div>
  );
}

function UserMenu() {
  const user = useAuthStore((s) => s.user)!;
  const logout = useAuthStore((s) => s.logout);
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const menuId = useId();

  useEffect(() => {
    if (!open) return;
    const onDoc = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      setOpen(false);
      button.current?.focus();
    };
    document.addEventListener('mousedown', onDoc);
    document.addEventListener('keydown', onKey);
    ref.current?.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
    return () => {
      document.removeEventListener('mousedown', onDoc);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);

  const item = 'block w-full px-3 py-2 text-left text-sm hover:bg-surface-3 focus:bg-surface-3 focus:outline-none';
  const channelName = user.channel?.name ?? user.username;

  return (
    <div
      ref={ref}
      className="relative"
      onBlur={(e) => {
        // Tab took focus out of the open menu: it closes
        if (open && e.relatedTarget && !e.currentTarget.contains(e.relatedTarget as Node)) setOpen(false);
      }}
    >
      <button
        ref={button}
        type="button"
        className="flex items-center rounded-full"
        aria-label="User menu"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        onClick={() => setOpen((o) => !o)}
      >
        <Avatar name={user.username} url={user.avatarUrl} size={32} />
      </button>
      {open && (
        <div
          id={menuId}
          role="menu"
          aria-label="User menu"
          className="absolute right-0 top-full z-40 mt-2 w-56 overflow-hidden rounded-md border border-line bg-surface-1 py-1 shadow-xl"
          onKeyDown={(e) => {
            const items = Array.from(ref.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? []);
            if (focusItemByKey(e.key, items)) e.preventDefault();
          }}
        >
          <div className="border-b border-line px-3 py-2">
            <p className="truncate font-semibold" data-testid="current-user">
              {user.displayName}
            </p>
            <p className="truncate text-xs text-muted">@{user.username}</p>
          </div>
          <Link role="menuitem" tabIndex={-1} to="/$channel" params={{ channel: channelName }} className={item} onClick={() => setOpen(false)}>
            Channel
          </Link>
          <Link role="menuitem" tabIndex={-1} to="/dashboard" className={item} onClick={() => setOpen(false)}>
            Creator Dashboard
          </Link>
          <Link role="menuitem" tabIndex={-1} to="/following" className={item} onClick={() => setOpen(false)}>
            Following
          </Link>
          <button
            role="menuitem"
            tabIndex={-1}
            type="button"
            className={`${item} border-t border-line`}
            onClick={async () => {
              setOpen(false);
              await logout();
              void navigate({ to: '/' });
            }}
          >
            Log Out
          </button>
        </div>
      )}
    </div>
  );
}

export function Header() {
  const user = useAuthStore((s) => s.user);
  const loading = useAuthStore((s) => s.loading);
  const openAuth = useUiStore((s) => s.openAuth);
  const nav = 'rounded px-2 py-1 text-sm font-semibold hover:bg-surface-3 hover:text-brand-soft [&.active]:text-brand-soft';

  return (
    <header className="sticky top-0 z-30 flex h-14 items-center gap-2 border-b border-black/40 bg-surface-1 px-2 shadow sm:gap-4 sm:px-4">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-brand focus:px-3 focus:py-1">
        Skip to content
      </a>
      <Link to="/" className="flex shrink-0 items-center gap-2" aria-label="twitch-nginx home">
        <Logo />
        <span className="hidden text-lg font-black tracking-tight lg:inline">twitch-nginx</span>
      </Link>
      <nav aria-label="Main" className="flex shrink-0 items-center gap-1">
        <Link to="/browse" className={nav}>
          Browse
        </Link>
        {user && (
          <Link to="/following" className={`${nav} hidden sm:inline`}>
            Following
          </Link>
        )}
      </nav>
      <div className="flex min-w-0 flex-1 justify-center">
        <SearchBox />
      </div>
      <div className="flex shrink-0 items-center gap-2">
        {loading ? (
          <div className="h-8 w-24 animate-pulse rounded bg-surface-3" aria-hidden="true" />
        ) : user ? (
          <>
            <Link to="/dashboard" className={`${nav} hidden md:inline`}>
              Dashboard
            </Link>
            <UserMenu />
          </>
        ) : (
          <>
            <button type="button" className="btn-secondary" onClick={() => openAuth('login')}>
              Log In
            </button>
            <button type="button" className="btn-primary hidden sm:inline-flex" onClick={() => openAuth('signup')}>
              Sign Up
            </button>
          </>
        )}
      </div>
    </header>
  );
}
