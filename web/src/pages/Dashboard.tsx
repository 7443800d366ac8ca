import { Link } from '@tanstack/react-router';
import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, errorMessage } from '../api/client';
import { categoryApi, channelApi, moderationApi, streamApi, userApi } from '../api/endpoints';
import type { ChannelDetail, RoleEntry } from '../api/types';
import { Avatar } from '../components/Avatar';
import { ClipCard, LiveBadge, VodCard } from '../components/Cards';
import { RoomModeControls } from '../components/chat/ChatSettings';
import { CopyIcon, EyeIcon, EyeOffIcon, RefreshIcon } from '../components/icons';
import { Player } from '../components/player/Player';
import { EmptyState, ErrorState, Spinner } from '../components/States';
import { parseRoomState } from '../lib/chatProtocol';
import { formatDate, timeAgo, viewersLabel } from '../lib/format';
import { useAsync, useTitle } from '../lib/useAsync';
import { ingestServerUrl, parseTags } from '../lib/channelForm';
import { useAuthStore } from '../stores/auth';
import { useChatStore } from '../stores/chat';
import { useUiStore } from '../stores/ui';

function Card({ title, children, id }: { title: string; children: ReactNode; id?: string }) {
  return (
    <section className="card" aria-labelledby={id}>
      <h2 id={id} className="mb-3 text-lg font-bold">
        {title}
      </h2>
      {children}
    </section>
  );
}

function copy(text: string, toast: (t: string, tone?: 'info' | 'success' | 'error') => void, what: string) {
  if (!navigator.clipboard) {
    toast('Copying needs a secure (https) page — select the text and copy it.', 'error');
    return;
  }
  navigator.clipboard.writeText(text).then(
    () => toast(`${what} copied.`, 'success'),
    () => toast('Copy failed — select the text and copy it.', 'error'),
  );
}

function StreamKeyCard() {
  const user = useAuthStore((s) => s.user)!;
  const rotate = useAuthStore((s) => s.rotateStreamKey);
  const toast = useUiStore((s) => s.toast);
  const [shown, setShown] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const rotateButton = useRef<HTMLButtonElement>(null);
  const cancelButton = useRef<HTMLButtonElement>(null);
  const key = user.channel?.streamKey ?? '';
  const server = ingestServerUrl(window.location.hostname, user.channel?.ingestUrl);

  // the buttons swap places: keep the focus on the one that replaced the pressed one
  const wasConfirming = useRef(confirming);
  useEffect(() => {
    if (wasConfirming.current === confirming) return;
    wasConfirming.current = confirming;
    const lost = document.activeElement === document.body;
    if (confirming) cancelButton.current?.focus();
    else if (lost) rotateButton.current?.focus();
  }, [confirming]);

  const doRotate = async () => {
    if (busy) return;
    setBusy(true);
    try {
      await rotate();
      setConfirming(false);
      toast('New stream key created. Update it in OBS.', 'success');
    } catch (err) {
      toast(errorMessage(err), 'error');
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title="Stream key & OBS setup" id="dash-key">
      <ol className="mb-4 list-decimal space-y-1 pl-5 text-sm text-muted">
        <li>In OBS, open Settings → Stream and choose Service: Custom.</li>
        <li>Paste the server URL and the stream key below, then press Start Streaming.</li>
        <li>Recommended: x264 or hardware H.264, keyframe interval 2 s, AAC audio.</li>
      </ol>
      <label className="field-label" htmlFor="obs-server">
        Server
      </label>
      <div className="mb-3 flex gap-2">
        <input id="obs-server" className="input font-mono" readOnly value={server} onFocus={(e) => e.currentTarget.select()} />
        <button type="button" className="btn-secondary" aria-label="Copy server URL" onClick={() => copy(server, toast, 'Server URL')}>
          <CopyIcon size={16} />
        </button>
      </div>
      <label className="field-label" htmlFor="stream-key">
        Stream key
      </label>
      {key ? (
        <>
          <div className="flex flex-wrap gap-2">
            <input
              id="stream-key"
              className="input min-w-0 flex-1 font-mono"
              readOnly
              type={shown ? 'text' : 'password'}
              value={key}
              autoComplete="off"
              data-testid="stream-key"
              onFocus={(e) => shown && e.currentTarget.select()}
            />
            <button
              type="button"
              className="btn-secondary"
              aria-pressed={shown}
              aria-label={shown ? 'Hide stream key' : 'Reveal stream key'}
              onClick={() => setShown((s) => !s)}
            >
              {shown ? <EyeOffIcon size={16} /> : <EyeIcon size={16} />}
              {shown ? 'Hide' : 'Reveal'}
            </button>
            <button type="button" className="btn-secondary" aria-label="Copy stream key" onClick={() => copy(key, toast, 'Stream key')}>
              <CopyIcon size={16} /> Copy
            </button>
          </div>
          <p className="mt-2 text-xs text-warn">Never share your stream key: anyone with it can stream to your channel.</p>
          <div className="mt-3 flex flex-wrap items-center gap-2">
            {confirming ? (
              <>
                <span className="text-sm">Rotate the key? The current one stops working at once.</span>
                <button type="button" className="btn-danger" onClick={doRotate} aria-disabled={busy} data-testid="confirm-rotate">
                  {busy ? 'Rotating…' : 'Yes, rotate'}
                </button>
                <button ref={cancelButton} type="button" className="btn-ghost" onClick={() => setConfirming(false)}>
                  Cancel
                </button>
              </>
            ) : (
              <button ref={rotateButton} type="button" className="btn-secondary" onClick={() => setConfirming(true)} data-testid="rotate-key">
                <RefreshIcon size={16} /> Rotate key
              </button>
            )}
          </div>
        </>
      ) : (
        <p className="text-sm text-muted">Your account has no channel yet.</p>
      )}
    </Card>
  );
}

function StatusCard({ channel }: { channel: ChannelDetail }) {
  return (
    <Card title="Stream status" id="dash-status">
      <div className="mb-3 flex items-center gap-2" data-testid="stream-status">
        {channel.isLive ? (
          <>
            <LiveBadge /> <span className="text-sm">{viewersLabel(channel.viewerCount)}</span>
          </>
        ) : (
          <span className="flex items-center gap-2 text-sm text-muted">
            <span className="h-2.5 w-2.5 rounded-full bg-muted" aria-hidden="true" /> Offline
          </span>
        )}
      </div>
      {channel.isLive ? (
        <div className="overflow-hidden rounded-md">
          <Player source={{ kind: 'live', channel: channel.name }} title="Live preview" startMuted />
        </div>
      ) : (
        <p className="text-sm text-muted">Start streaming from OBS with the key below; your channel goes live as soon as video arrives.</p>
      )}
      <Link to="/$channel" params={{ channel: channel.name }} className="mt-3 inline-block text-sm font-semibold text-brand-soft hover:underline">
        View your channel
      </Link>
    </Card>
  );
}

function InfoCard({ channel, onSaved }: { channel: ChannelDetail; onSaved: () => void }) {
  const toast = useUiStore((s) => s.toast);
  const cats = useAsync(() => categoryApi.list(100), []);
  const [title, setTitle] = useState(channel.title);
  const [categoryId, setCategoryId] = useState<string>(channel.category?.id ? String(channel.category.id) : '');
  const [tags, setTags] = useState((channel.tags ?? []).join(', '));
  const [description, setDescription] = useState(channel.description ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  // category id may be missing from the channel; match by slug once categories load
  useEffect(() => {
    if (categoryId || !channel.category || !cats.data) return;
    const hit = cats.data.categories.find((c) => c.slug === channel.category?.slug);
    if (hit) setCategoryId(String(hit.id));
  }, [cats.data, channel.category, categoryId]);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const parsed = parseTags(tags);
    if (!title.trim()) return setError('The title cannot be empty.');
    if (parsed.bad.length) return setError(`Tags are single words of letters and digits: “${parsed.bad[0]}” is not.`);
    if (parsed.tags.length > 10) return setError('At most 10 tags.');
    setBusy(true);
    try {
      await channelApi.update(channel.name, {
        title: title.trim(),
        categoryId: categoryId ? Number(categoryId) : null,
        description: description.trim(),
        tags: parsed.tags,
      });
      toast('Stream info saved.', 'success');
      onSaved();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title="Stream info" id="dash-info">
      <form onSubmit={save} className="flex flex-col gap-3">
        <div>
          <label htmlFor="si-title" className="field-label">
            Title
          </label>
          <input id="si-title" className="input" maxLength={140} value={title} onChange={(e) => setTitle(e.target.value)} required />
        </div>
        <div>
          <label htmlFor="si-cat" className="field-label">
            Category
          </label>
          <select id="si-cat" className="input" value={categoryId} onChange={(e) => setCategoryId(e.target.value)}>
            <option value="">No category</option>
            {cats.data?.categories.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
          {cats.error ? <p className="mt-1 text-xs text-muted">Categories could not be loaded.</p> : null}
        </div>
        <div>
          <label htmlFor="si-tags" className="field-label">
            Tags <span className="normal-case">(up to 10, comma separated)</span>
          </label>
          <input id="si-tags" className="input" value={tags} onChange={(e) => setTags(e.target.value)} placeholder="English, FPS" />
        </div>
        <div>
          <label htmlFor="si-desc" className="field-label">
            About (channel description)
          </label>
          <textarea id="si-desc" className="input min-h-24" maxLength={2000} value={description} onChange={(e) => setDescription(e.target.value)} />
        </div>
        {error && (
          <p role="alert" className="rounded-md bg-live/15 px-3 py-2 text-sm text-[#ff8a80]">
            {error}
          </p>
        )}
        <div>
          <button type="submit" className="btn-primary" disabled={busy}>
            {busy ? 'Saving…' : 'Save'}
          </button>
        </div>
      </form>
    </Card>
  );
}

function RoleList({
  title,
  id,
  load,
  add,
  remove,
  empty,
}: {
  title: string;
  id: string;
  load: () => Promise<RoleEntry[]>;
  add: (userId: number) => Promise<unknown>;
  remove: (userId: number) => Promise<unknown>;
  empty: string;
}) {
  const toast = useUiStore((s) => s.toast);
  const q = useAsync(load, []);
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const username = name.trim();
    if (!username) return;
    setBusy(true);
    try {
      const { user } = await userApi.get(username);
      await add(user.id);
      setName('');
      q.reload();
    } catch (err) {
      toast(err instanceof ApiError && err.status === 404 ? `No user named “${username}”.` : errorMessage(err), 'error');
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title={title} id={id}>
      <form onSubmit={submit} className="mb-3 flex gap-2">
        <label htmlFor={`${id}-add`} className="sr-only">
          Username to add
        </label>
        <input id={`${id}-add`} className="input" placeholder="Username" value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit" className="btn-secondary" disabled={busy || !name.trim()}>
          Add
        </button>
      </form>
      {q.loading ? (
        <Spinner />
      ) : q.error ? (
        <ErrorState error={q.error} title="Couldn't load the list" onRetry={q.reload} />
      ) : !q.data?.length ? (
        <p className="text-sm text-muted">{empty}</p>
      ) : (
        <ul className="divide-y divide-line">
          {q.data.map((r) => (
            <li key={r.userId} className="flex items-center gap-2 py-2">
              <Avatar name={r.username} url={r.avatarUrl} size={28} />
              <span className="min-w-0 flex-1 truncate text-sm">{r.displayName ?? r.username}</span>
              <button
                type="button"
                className="btn-ghost text-xs"
                aria-label={`Remove ${r.username}`}
                onClick={() =>
                  remove(r.userId).then(
                    () => q.reload(),
                    (err) => toast(errorMessage(err), 'error'),
                  )
                }
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

function BansCard({ channelId }: { channelId: number }) {
  const toast = useUiStore((s) => s.toast);
  const q = useAsync(() => moderationApi.bans(channelId), [channelId]);
  return (
    <Card title="Banned and timed-out users" id="dash-bans">
      {q.loading ? (
        <Spinner />
      ) : q.error ? (
        <ErrorState error={q.error} title="Couldn't load bans" onRetry={q.reload} />
      ) : !q.data?.bans.length ? (
        <p className="text-sm text-muted">Nobody is banned.</p>
      ) : (
        <ul className="divide-y divide-line">
          {q.data.bans.map((b) => (
            <li key={b.userId} className="flex items-center gap-2 py-2">
              <Avatar name={b.username} url={b.avatarUrl} size={28} />
              <div className="min-w-0 flex-1 text-sm">
                <p className="truncate">{b.displayName ?? b.username}</p>
                <p className="truncate text-xs text-muted">
                  {b.isPermanent ? 'Banned' : `Timed out until ${new Date(b.expiresAt ?? '').toLocaleString()}`}
                  {b.reason ? ` · ${b.reason}` : ''}
                  {b.createdAt ? ` · ${timeAgo(b.createdAt)}` : ''}
                </p>
              </div>
              <button
                type="button"
                className="btn-ghost text-xs"
                aria-label={`Unban ${b.username}`}
                onClick={() =>
                  moderationApi.unban(channelId, b.userId).then(
                    () => q.reload(),
                    (err) => toast(errorMessage(err), 'error'),
                  )
                }
              >
                {b.isPermanent ? 'Unban' : 'Lift'}
              </button>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

function ChatSettingsCard({ channelId }: { channelId: number }) {
  const [loaded, setLoaded] = useState(false);
  useEffect(() => {
    moderationApi.filters(channelId).then(
      (r) => {
        useChatStore.getState().setRoom(parseRoomState(r.filters));
        setLoaded(true);
      },
      () => setLoaded(true),
    );
  }, [channelId]);
  return (
    <Card title="Chat settings" id="dash-chat">
      {loaded ? <RoomModeControls channelId={channelId} /> : <Spinner />}
    </Card>
  );
}

function Recordings({ channel }: { channel: ChannelDetail }) {
  const vods = useAsync(() => streamApi.vods(channel.id, 6), [channel.id]);
  const clips = useAsync(() => channelApi.clips(channel.name, 6), [channel.name]);
  return (
    <>
      <Card title="Past broadcasts" id="dash-vods">
        {vods.loading ? (
          <Spinner />
        ) : vods.error ? (
          <ErrorState error={vods.error} onRetry={vods.reload} />
        ) : vods.data?.vods.length ? (
          <div className="grid grid-cols-1 gap-3 sm:grid-cols-2">
            {vods.data.vods.map((v) => (
              <VodCard key={v.id} vod={v} channelName={channel.name} />
            ))}
          </div>
        ) : (
          <EmptyState title="No past broadcasts yet" />
        )}
      </Card>
      <Card title="Clips" id="dash-clips">
        {clips.loading ? (
          <Spinner />
        ) : clips.error ? (
          <ErrorState error={clips.error} onRetry={clips.reload} />
        ) : clips.data?.clips.length ? (
          <div className="grid grid-cols-1 gap-3 sm:grid-cols-2">
            {clips.data.clips.map((c) => (
              <ClipCard key={c.id} clip={c} />
            ))}
          </div>
        ) : (
          <EmptyState title="No clips yet" />
        )}
      </Card>
    </>
  );
}

export function DashboardPage() {
  useTitle('Creator Dashboard');
  const user = useAuthStore((s) => s.user);
  const loading = useAuthStore((s) => s.loading);
  const openAuth = useUiStore((s) => s.openAuth);
  const name = user?.channel?.name ?? user?.username ?? '';
  const q = useAsync(() => (name ? channelApi.get(name) : Promise.reject(new ApiError(401, 'Please log in first.'))), [name]);

  if (loading) return <Spinner />;
  if (!user) {
    return (
      <div className="mx-auto max-w-lg p-10 text-center">
        <h1 className="mb-2 text-2xl font-black">Creator Dashboard</h1>
        <p className="mb-4 text-muted">Log in to manage your channel and stream key.</p>
        <button type="button" className="btn-primary" onClick={() => openAuth('login')}>
          Log in
        </button>
      </div>
    );
  }

  const channel = q.data?.channel;
  return (
    <div className="mx-auto max-w-6xl p-4 sm:p-6">
      <header className="mb-6 flex items-center gap-3">
        <Avatar name={user.username} url={user.avatarUrl} size={48} />
        <div>
          <h1 className="text-2xl font-black">Creator Dashboard</h1>
          <p className="text-sm text-muted">
            {user.displayName} · @{user.username}
            {channel?.createdAt ? ` · channel since ${formatDate(channel.createdAt)}` : ''}
          </p>
        </div>
      </header>
      <div className="grid gap-4 lg:grid-cols-2">
        <div className="flex flex-col gap-4">
          {channel ? <StatusCard channel={channel} /> : q.loading ? <Spinner /> : <ErrorState error={q.error} title="Couldn't load your channel" onRetry={q.reload} />}
          <StreamKeyCard />
          {channel && <ChatSettingsCard channelId={channel.id} />}
          {channel && <BansCard channelId={channel.id} />}
        </div>
        <div className="flex flex-col gap-4">
          {channel && <InfoCard key={channel.id} channel={channel} onSaved={q.reload} />}
          {channel && (
            <RoleList
              title="Moderators"
              id="dash-mods"
              load={() => moderationApi.moderators(channel.id).then((r) => r.moderators)}
              add={(id) => moderationApi.addModerator(channel.id, id)}
              remove={(id) => moderationApi.removeModerator(channel.id, id)}
              empty="No moderators yet."
            />
          )}
          {channel && (
            <RoleList
              title="VIPs"
              id="dash-vips"
              load={() => moderationApi.vips(channel.id).then((r) => r.vips)}
              add={(id) => moderationApi.addVip(channel.id, id)}
              remove={(id) => moderationApi.removeVip(channel.id, id)}
              empty="No VIPs yet."
            />
          )}
          {channel && <Recordings channel={channel} />}
        </div>
      </div>
    </div>
  );
}
