import { Link } from '@tanstack/react-router';
import { useTitle } from '../lib/useAsync';

export function NotFoundPage({ what = 'Page not found' }: { what?: string }) {
  useTitle(what);
  return (
    <div className="flex flex-col items-center justify-center gap-4 p-10 text-center" data-testid="not-found">
      <svg width="120" height="96" viewBox="0 0 120 96" aria-hidden="true">
        <rect x="8" y="10" width="104" height="66" rx="8" fill="#1f1f23" stroke="#9147ff" strokeWidth="3" />
        <path d="M40 86h40" stroke="#9147ff" strokeWidth="4" strokeLinecap="round" />
        <path d="M44 34l10 10M54 34L44 44M66 34l10 10M76 34L66 44" stroke="#adadb8" strokeWidth="3" strokeLinecap="round" />
        <path d="M46 60q14-9 28 0" stroke="#adadb8" strokeWidth="3" fill="none" strokeLinecap="round" />
      </svg>
      <h1 className="text-3xl font-black">{what}</h1>
      <p className="text-muted">There is nothing here. It may have moved, or never existed.</p>
      <Link to="/" className="btn-primary">
        Go to the home page
      </Link>
    </div>
  );
}
