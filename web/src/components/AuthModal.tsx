import { useUiStore } from '../stores/ui';
import { AuthForm } from './AuthForm';
import { Dialog } from './Dialog';

export function AuthModal() {
  const mode = useUiStore((s) => s.authModal);
  const open = useUiStore((s) => s.openAuth);
  const close = useUiStore((s) => s.closeAuth);
  if (!mode) return null;
  return (
    <Dialog title={mode === 'login' ? 'Log in' : 'Join twitch-nginx'} onClose={close}>
      <AuthForm key={mode} mode={mode} onDone={close} onSwitch={open} />
    </Dialog>
  );
}
