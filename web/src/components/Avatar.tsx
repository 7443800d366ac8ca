import { useState } from 'react';
import { initial, nameColor } from '../lib/color';

export function Avatar({
  name,
  url,
  size = 32,
  live = false,
}: {
  name: string;
  url?: string | null;
  size?: number;
  live?: boolean;
}) {
  const [broken, setBroken] = useState(false);
  const ring = live ? 'ring-2 ring-live' : '';
  if (url && !broken) {
    return (
      <img
        src={url}
        alt=""
        width={size}
        height={size}
        loading="lazy"
        onError={() => setBroken(true)}
        className={`shrink-0 rounded-full bg-surface-3 object-cover ${ring}`}
        style={{ width: size, height: size }}
      />
    );
  }
  return (
    <span
      aria-hidden="true"
      className={`inline-flex shrink-0 items-center justify-center rounded-full font-bold text-white ${ring}`}
      style={{ width: size, height: size, background: nameColor(name), fontSize: size * 0.45 }}
    >
      {initial(name)}
    </span>
  );
}
