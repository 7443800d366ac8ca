// Viewer preferences for the player, kept in localStorage.
import { create } from 'zustand';
import { persist, createJSONStorage } from 'zustand/middleware';

export interface PlayerPrefs {
  volume: number;
  muted: boolean;
  theatre: boolean;
  /** preferred rendition height (e.g. 720), or null for Auto */
  quality: number | null;
  setVolume: (v: number) => void;
  setMuted: (m: boolean) => void;
  toggleMuted: () => void;
  setTheatre: (t: boolean) => void;
  toggleTheatre: () => void;
  setQuality: (q: number | null) => void;
}

export function clampVolume(v: number): number {
  if (!Number.isFinite(v)) return 1;
  return Math.min(1, Math.max(0, Math.round(v * 100) / 100));
}

const memory = new Map<string, string>();
const fallbackStorage = {
  getItem: (k: string) => memory.get(k) ?? null,
  setItem: (k: string, v: string) => void memory.set(k, v),
  removeItem: (k: string) => void memory.delete(k),
};

export const usePlayerStore = create<PlayerPrefs>()(
  persist(
    (set) => ({
      volume: 0.8,
      muted: false,
      theatre: false,
      quality: null,
      setVolume: (v) => {
        const volume = clampVolume(v);
        set({ volume, muted: volume === 0 });
      },
      setMuted: (muted) => set({ muted }),
      toggleMuted: () => set((s) => ({ muted: !s.muted, volume: s.muted && s.volume === 0 ? 0.5 : s.volume })),
      setTheatre: (theatre) => set({ theatre }),
      toggleTheatre: () => set((s) => ({ theatre: !s.theatre })),
      setQuality: (quality) => set({ quality }),
    }),
    {
      name: 'player-prefs',
      version: 1,
      storage: createJSONStorage(() => (typeof localStorage !== 'undefined' ? localStorage : fallbackStorage)),
      partialize: (s) => ({ volume: s.volume, muted: s.muted, theatre: s.theatre, quality: s.quality }),
    },
  ),
);
