import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { RouterProvider } from '@tanstack/react-router';
import { router } from './router';
import { chatConnection } from './lib/chat';
import { onAuthChange, useAuthStore } from './stores/auth';
import './index.css';

// who is signed in; the chat socket (opened by the chat panel) takes its
// identity from the cookie, so it reconnects when that changes
void useAuthStore.getState().fetchMe();
onAuthChange(() => chatConnection.restart());

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <RouterProvider router={router} />
  </StrictMode>,
);
