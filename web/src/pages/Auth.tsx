import { useNavigate } from '@tanstack/react-router';
import { useEffect } from 'react';
import { AuthForm } from '../components/AuthForm';
import { useTitle } from '../lib/useAsync';
import { useAuthStore } from '../stores/auth';
import type { AuthMode } from '../stores/ui';

function safeRedirect(to: string | undefined): string {
  // only same-site paths
  return to && to.startsWith('/') && !to.startsWith('//') ? to : '/';
}

export function AuthPage({ mode, redirect }: { mode: AuthMode; redirect?: string }) {
  useTitle(mode === 'login' ? 'Log in' : 'Sign up');
  const navigate = useNavigate();
  const user = useAuthStore((s) => s.user);
  const loading = useAuthStore((s) => s.loading);

  useEffect(() => {
    if (!loading && user) void navigate({ to: safeRedirect(redirect), replace: true });
  }, [user, loading, navigate, redirect]);

  return (
    <div className="mx-auto max-w-md p-4 sm:p-10">
      <div className="card">
        <h1 className="mb-4 text-2xl font-black">{mode === 'login' ? 'Log in' : 'Join twitch-nginx'}</h1>
        <AuthForm
          key={mode}
          mode={mode}
          onDone={() => void navigate({ to: safeRedirect(redirect), replace: true })}
          onSwitch={(m) => void navigate({ to: m === 'login' ? '/login' : '/signup', search: redirect ? { redirect } : {} })}
        />
      </div>
    </div>
  );
}
