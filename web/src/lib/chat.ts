// The page's chat connection, wired to the chat store. The socket opens
// when a chat room is shown and closes a while after the last one is left.
import { ChatSocket } from './chatSocket';
import { chatSocketUrl } from './chatProtocol';
import { useChatStore } from '../stores/chat';

const IDLE_CLOSE_MS = 30_000;

let socket: ChatSocket | null = null;
let running = false;
let idleTimer: ReturnType<typeof setTimeout> | null = null;

function getSocket(): ChatSocket {
  if (!socket) {
    socket = new ChatSocket({
      url: () => chatSocketUrl(),
      create: (url) => new WebSocket(url),
      onFrame: (frame) => useChatStore.getState().receive(frame),
      onStatus: (status, retryAt) => useChatStore.getState().setStatus(status, retryAt),
    });
  }
  return socket;
}

function ensureRunning() {
  if (idleTimer) {
    clearTimeout(idleTimer);
    idleTimer = null;
  }
  if (!running) {
    running = true;
    getSocket().start();
  }
}

export const chatConnection = {
  /** after log in / log out: the server reads identity from the cookie at the upgrade */
  restart: () => {
    if (running) getSocket().restart();
  },
  join: (channelId: number | null) => {
    useChatStore.getState().setChannel(channelId);
    if (channelId !== null) ensureRunning();
    getSocket().join(channelId);
    if (channelId === null && running && !idleTimer) {
      idleTimer = setTimeout(() => {
        idleTimer = null;
        running = false;
        getSocket().stop();
        useChatStore.getState().setStatus('idle');
      }, IDLE_CLOSE_MS);
    }
  },
  send: (text: string): boolean => getSocket().sendChat(text) !== null,
};
