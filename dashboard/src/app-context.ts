/** What every page needs from the shell: the caller's powers, and a counter that moves on live events. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { ClusterEvent, Session } from './types.js';

export interface AppContext {
  session: Session;
  /** May start, stop and retry things: an operator or admin on a server that is not read-only. */
  canOperate: boolean;
  /** May edit schedules: an admin on a server that is not read-only. */
  canAdminister: boolean;
  /** Increases (debounced) whenever live events arrive: pages reload their data on it. */
  liveTick: number;
  /** The newest events, newest first (for the activity list). */
  recent: ClusterEvent[];
  navigate: (path: string) => void;
}

export const Context = createContext<AppContext | null>(null);

export function useApp(): AppContext {
  const app = useContext(Context);
  if (app === null) throw new Error('useApp outside the app');
  return app;
}
