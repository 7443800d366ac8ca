import { useMemo, useState } from 'react';
import { errorMessage, randomId } from '../api/client';
import { channelApi } from '../api/endpoints';
import type { ChannelDetail, Emote } from '../api/types';
import { Dialog } from './Dialog';

export const TIERS = [
  { tier: 1, price: '$4.99', perks: 'Sub badge, Tier 1 emotes, chat in subscribers-only mode' },
  { tier: 2, price: '$9.99', perks: 'Everything in Tier 1, plus Tier 2 emotes' },
  { tier: 3, price: '$24.99', perks: 'Everything in Tier 2, plus Tier 3 emotes' },
];

export function SubscribeDialog({
  channel,
  emotes,
  currentTier,
  onClose,
  onSubscribed,
}: {
  channel: ChannelDetail;
  emotes: Emote[];
  currentTier: number | null;
  onClose: () => void;
  onSubscribed: (tier: number, expiresAt?: string) => void;
}) {
  const [tier, setTier] = useState(Math.min(3, Math.max(1, currentTier ?? 1)));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // one key per attempt at a given tier: a retry after a lost answer is not a second subscription
  const keys = useMemo(() => new Map<number, string>(), []);

  const submit = async () => {
    if (busy) return;
    setBusy(true);
    setError(null);
    let key = keys.get(tier);
    if (!key) {
      key = randomId();
      keys.set(tier, key);
    }
    try {
      const r = await channelApi.subscribe(channel.name, tier, key);
      onSubscribed(r.tier ?? tier, r.expiresAt);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const channelEmotes = emotes.filter((e) => !e.isGlobal);

  return (
    <Dialog title={`Subscribe to ${channel.user.displayName}`} onClose={onClose} wide>
      <fieldset>
        <legend className="mb-3 text-sm text-muted">Choose a tier. A subscription lasts 30 days.</legend>
        <div className="grid gap-3 sm:grid-cols-3">
          {TIERS.map((t) => {
            const list = channelEmotes.filter((e) => e.tier <= t.tier && e.tier > 0);
            const checked = tier === t.tier;
            return (
              <label
                key={t.tier}
                className={`flex cursor-pointer flex-col gap-2 rounded-lg border-2 p-3 ${checked ? 'border-brand bg-brand/10' : 'border-line hover:border-muted'}`}
              >
                <span className="flex items-center justify-between">
                  <span className="flex items-center gap-2">
                    <input
                      type="radio"
                      name="tier"
                      value={t.tier}
                      checked={checked}
                      onChange={() => setTier(t.tier)}
                      className="accent-brand"
                      aria-label={`Tier ${t.tier}, ${t.price} a month`}
                    />
                    <span className="font-bold">Tier {t.tier}</span>
                  </span>
                  <span className="text-sm font-semibold">{t.price}</span>
                </span>
                <span className="text-xs text-muted">{t.perks}</span>
                {list.length > 0 && (
                  <span className="flex flex-wrap gap-1">
                    {list.map((e) => (
                      <img key={e.id} src={e.imageUrl} alt={e.code} title={e.code} className="h-7 w-7" />
                    ))}
                  </span>
                )}
                {currentTier === t.tier && <span className="text-xs font-semibold text-brand-soft">Your current tier</span>}
              </label>
            );
          })}
        </div>
      </fieldset>
      <p className="mt-3 text-xs text-muted">This server takes no payment: subscribing is free here.</p>
      {error && (
        <p role="alert" className="mt-3 rounded-md bg-live/15 px-3 py-2 text-sm text-[#ff8a80]">
          {error}
        </p>
      )}
      <div className="mt-4 flex justify-end gap-2">
        <button type="button" className="btn-secondary" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="btn-primary" onClick={submit} aria-disabled={busy} data-testid="confirm-subscribe">
          {busy ? 'Subscribing…' : currentTier ? `Renew at Tier ${tier}` : `Subscribe at Tier ${tier}`}
        </button>
      </div>
    </Dialog>
  );
}
