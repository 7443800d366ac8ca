import { useEffect, useRef } from 'react';
import type { Emote } from '../../api/types';
import { LockIcon } from '../icons';

/** Emote grid: channel emotes by tier (locked ones greyed), then global ones. */
export function EmotePicker({
  emotes,
  channelName,
  onPick,
  onClose,
}: {
  emotes: Emote[];
  channelName: string;
  onPick: (code: string) => void;
  /** refocus: back to the emote button (Escape), not after a click elsewhere */
  onClose: (refocus: boolean) => void;
}) {
  const ref = useRef<HTMLDivElement>(null);

  useEffect(() => {
    ref.current?.querySelector<HTMLElement>('button:not([disabled])')?.focus();
    const onDoc = (e: MouseEvent) => {
      const t = e.target as HTMLElement;
      if (ref.current && !ref.current.contains(t) && !t.closest('[data-emote-toggle]')) onClose(false);
    };
    document.addEventListener('mousedown', onDoc);
    return () => document.removeEventListener('mousedown', onDoc);
  }, [onClose]);

  const channel = emotes.filter((e) => !e.isGlobal).sort((a, b) => a.tier - b.tier || a.code.localeCompare(b.code));
  const global = emotes.filter((e) => e.isGlobal);

  const cell = (e: Emote) => {
    const locked = e.locked === true;
    const label = locked ? `${e.code} (needs a Tier ${Math.max(1, e.tier)} subscription)` : e.code;
    return (
      <li key={e.id}>
        <button
          type="button"
          className="relative flex h-10 w-10 items-center justify-center rounded hover:bg-surface-3 disabled:cursor-not-allowed"
          title={label}
          aria-label={label}
          disabled={locked}
          data-emote={e.code}
          onClick={() => onPick(e.code)}
        >
          <img src={e.imageUrl} alt="" className={`h-7 w-7 ${locked ? 'opacity-35 grayscale' : ''}`} />
          {locked && (
            <span className="absolute bottom-0.5 right-0.5 rounded-full bg-surface-0 p-0.5 text-muted">
              <LockIcon size={10} />
            </span>
          )}
        </button>
      </li>
    );
  };

  return (
    <div
      ref={ref}
      role="dialog"
      aria-label="Emotes"
      className="absolute bottom-full left-0 right-0 z-20 mb-2 max-h-80 overflow-y-auto rounded-md border border-line bg-surface-1 p-3 shadow-2xl"
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.preventDefault();
          e.stopPropagation();
          onClose(true);
        }
      }}
    >
      {emotes.length === 0 && <p className="text-sm text-muted">No emotes available.</p>}
      {channel.length > 0 && (
        <section aria-label={`${channelName} emotes`} className="mb-3">
          <h3 className="mb-1 text-xs font-semibold uppercase tracking-wide text-muted">{channelName}</h3>
          {[1, 2, 3, 0].map((tier) => {
            const list = channel.filter((e) => (tier === 0 ? e.tier === 0 || e.tier > 3 : e.tier === tier));
            if (list.length === 0) return null;
            return (
              <div key={tier} className="mb-1">
                {tier > 0 && <p className="text-[11px] text-muted">Tier {tier}</p>}
                <ul className="flex flex-wrap gap-1">{list.map(cell)}</ul>
              </div>
            );
          })}
        </section>
      )}
      {global.length > 0 && (
        <section aria-label="Global emotes">
          <h3 className="mb-1 text-xs font-semibold uppercase tracking-wide text-muted">Global</h3>
          <ul className="flex flex-wrap gap-1">{global.map(cell)}</ul>
        </section>
      )}
    </div>
  );
}
