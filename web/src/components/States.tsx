import type { ReactNode } from 'react';
import { errorMessage } from '../api/client';

export function Spinner({ label = 'Loading' }: { label?: string }) {
  return (
    <div role="status" className="flex items-center justify-center p-8 text-muted">
      <span className="h-6 w-6 animate-spin rounded-full border-2 border-surface-3 border-t-brand" aria-hidden="true" />
      <span className="sr-only">{label}</span>
    </div>
  );
}

export function ErrorState({
  error,
  title = "Couldn't load this",
  onRetry,
}: {
  error: unknown;
  title?: string;
  onRetry?: () => void;
}) {
  return (
    <div role="alert" className="card flex flex-col items-start gap-2 border border-line">
      <p className="font-semibold">{title}</p>
      <p className="text-sm text-muted">{errorMessage(error)}</p>
      {onRetry && (
        <button type="button" className="btn-secondary mt-1" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="flex flex-col items-center gap-2 rounded-lg border border-dashed border-line p-8 text-center">
      <p className="font-semibold">{title}</p>
      {children && <div className="text-sm text-muted">{children}</div>}
    </div>
  );
}

export function CardSkeletons({ count = 8 }: { count?: number }) {
  return (
    <div className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-3 2xl:grid-cols-4" aria-hidden="true">
      {Array.from({ length: count }, (_, i) => (
        <div key={i} className="animate-pulse">
          <div className="aspect-video rounded-md bg-surface-2" />
          <div className="mt-2 flex gap-2">
            <div className="h-9 w-9 rounded-full bg-surface-2" />
            <div className="flex-1 space-y-2">
              <div className="h-3 w-3/4 rounded bg-surface-2" />
              <div className="h-3 w-1/2 rounded bg-surface-2" />
            </div>
          </div>
        </div>
      ))}
    </div>
  );
}

export function SectionHeader({ title, action, id }: { title: string; action?: ReactNode; id?: string }) {
  return (
    <div className="mb-3 flex items-end justify-between gap-2">
      <h2 id={id} className="text-lg font-bold">
        {title}
      </h2>
      {action}
    </div>
  );
}
