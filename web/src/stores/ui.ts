// Page-wide UI state: the log-in dialog and short notifications.
import { create } from 'zustand';

export type AuthMode = 'login' | 'signup';

export interface Toast {
  id: number;
  text: string;
  tone: 'info' | 'success' | 'error';
}

export interface UiState {
  authModal: AuthMode | null;
  toasts: Toast[];
  openAuth: (mode: AuthMode) => void;
  closeAuth: () => void;
  toast: (text: string, tone?: Toast['tone'], ms?: number) => void;
  dismiss: (id: number) => void;
}

let seq = 0;

export const useUiStore = create<UiState>()((set, get) => ({
  authModal: null,
  toasts: [],
  openAuth: (mode) => set({ authModal: mode }),
  closeAuth: () => set({ authModal: null }),
  toast: (text, tone = 'info', ms = 4000) => {
    const id = ++seq;
    set((s) => ({ toasts: [...s.toasts.slice(-3), { id, text, tone }] }));
    if (ms > 0) setTimeout(() => get().dismiss(id), ms);
  },
  dismiss: (id) => set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })),
}));
