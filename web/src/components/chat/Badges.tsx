// Chat badges as small SVG icons (18×18), drawn for this project.
import type { Badge } from '../../lib/chatProtocol';

export function badgeKind(type: string): 'broadcaster' | 'moderator' | 'vip' | 'subscriber' | 'admin' | 'staff' | 'founder' | null {
  switch (type.toLowerCase()) {
    case 'broadcaster':
    case 'owner':
    case 'streamer':
      return 'broadcaster';
    case 'mod':
    case 'moderator':
    case 'global_mod':
    case 'global_moderator':
      return 'moderator';
    case 'vip':
      return 'vip';
    case 'subscriber':
    case 'sub':
      return 'subscriber';
    case 'admin':
      return 'admin';
    case 'staff':
      return 'staff';
    case 'founder':
      return 'founder';
    default:
      return null;
  }
}

export function badgeTitle(b: Badge): string {
  const kind = badgeKind(b.type);
  switch (kind) {
    case 'broadcaster':
      return 'Broadcaster';
    case 'moderator':
      return b.label && /global|site/i.test(b.label) ? 'Global moderator' : 'Moderator';
    case 'vip':
      return 'VIP';
    case 'subscriber': {
      const parts: string[] = [];
      if (b.tier) parts.push(`Tier ${b.tier}`);
      if (b.months) parts.push(`${b.months} ${b.months === 1 ? 'month' : 'months'}`);
      return parts.length ? `Subscriber (${parts.join(', ')})` : 'Subscriber';
    }
    case 'admin':
      return 'Admin';
    case 'staff':
      return 'Staff';
    case 'founder':
      return 'Founder';
    default:
      return b.label ?? b.type;
  }
}

const TIER_COLORS: Record<number, string> = { 1: '#9147ff', 2: '#3b82f6', 3: '#eab308' };

function Icon({ b }: { b: Badge }) {
  const kind = badgeKind(b.type);
  switch (kind) {
    case 'broadcaster':
      return (
        <svg viewBox="0 0 18 18" width="18" height="18" aria-hidden="true">
          <rect width="18" height="18" rx="3" fill="#e91916" />
          <rect x="3" y="5.5" width="8" height="7" rx="1.2" fill="#fff" />
          <path d="M11.5 8.2l3.5-2v5.6l-3.5-2z" fill="#fff" />
        </svg>
      );
    case 'moderator':
      return (
        <svg viewBox="0 0 18 18" width="18" height="18" aria-hidden="true">
          <rect width="18" height="18" rx="3" fill="#00ad03" />
          <path d="M4 14l6.5-6.5M9 4.5l4.5 4.5M11 3l4 4-1.5 1.5-4-4z" stroke="#fff" strokeWidth="1.8" strokeLinecap="round" fill="#fff" />
        </svg>
      );
    case 'vip':
      return (
        <svg viewBox="0 0 18 18" width="18" height="18" aria-hidden="true">
          <rect width="18" height="18" rx="3" fill="#e005b9" />
          <path d="M4.5 7.5L7 4.5h4l2.5 3L9 14z" fill="#fff" />
          <path d="M4.5 7.5h9M7 4.5l2 3 2-3" stroke="#e005b9" strokeWidth="0.9" fill="none" />
        </svg>
      );
    case 'subscriber': {
      const tier = b.tier && b.tier >= 1 && b.tier <= 3 ? b.tier : 1;
      return (
        <svg viewBox="0 0 18 18" width="18" height="18" aria-hidden="true">
          <rect width="18" height="18" rx="3" fill={TIER_COLORS[tier]} />
          <path d="M9 2.8l1.8 3.8 4.1.5-3 2.9.8 4.1L9 12.1 5.3 14.1l.8-4.1-3-2.9 4.1-.5z" fill="#fff" />
          {tier > 1 && (
            <text x="9" y="11.2" textAnchor="middle" fontSize="5.5" fontWeight="800" fill={TIER_COLORS[tier]} fontFamily="sans-serif">
              {tier}
            </text>
          )}
        </svg>
      );
    }
    case 'admin':
    case 'staff':
      return (
        <svg viewBox="0 0 18 18" width="18" height="18" aria-hidden="true">
          <rect width="18" height="18" rx="3" fill={kind === 'admin' ? '#f97316' : '#111'} />
          <path d="M9 3l5 2v4c0 3-2.2 5-5 6-2.8-1-5-3-5-6V5z" fill="#fff" />
          <path d="M6.8 9l1.6 1.6L11.5 7.4" stroke={kind === 'admin' ? '#f97316' : '#111'} strokeWidth="1.6" fill="none" strokeLinecap="round" />
        </svg>
      );
    case 'founder':
      return (
        <svg viewBox="0 0 18 18" width="18" height="18" aria-hidden="true">
          <rect width="18" height="18" rx="3" fill="#0f766e" />
          <path d="M4 12.5l1-6 2.6 2.4L9 4.5l1.4 4.4L13 6.5l1 6z" fill="#fff" />
        </svg>
      );
    default:
      return (
        <svg viewBox="0 0 18 18" width="18" height="18" aria-hidden="true">
          <rect width="18" height="18" rx="3" fill="#53535f" />
          <text x="9" y="12.5" textAnchor="middle" fontSize="9" fontWeight="700" fill="#fff" fontFamily="sans-serif">
            {(b.label ?? b.type).slice(0, 1).toUpperCase()}
          </text>
        </svg>
      );
  }
}

export function BadgeIcon({ badge }: { badge: Badge }) {
  const title = badgeTitle(badge);
  return (
    <span role="img" aria-label={title} title={title} className="mr-1 inline-block h-[18px] w-[18px] align-[-4px]">
      <Icon b={badge} />
    </span>
  );
}

/** Unique badges in display order (broadcaster, admin, moderator, vip, subscriber, …). */
export function orderBadges(badges: Badge[]): Badge[] {
  const rank = (b: Badge) => {
    const order: Record<string, number> = { broadcaster: 0, admin: 1, staff: 2, moderator: 3, vip: 4, founder: 5, subscriber: 6 };
    return order[badgeKind(b.type) ?? ''] ?? 9;
  };
  const seen = new Set<string>();
  return [...badges]
    .sort((a, b) => rank(a) - rank(b))
    .filter((b) => {
      const k = badgeKind(b.type) ?? b.type;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
}
