/**
 * The in-process events of one store (`Store.listen`), the same on both backends. Listeners run
 * synchronously once the write that caused their event has committed. A listener that throws is
 * logged and skipped, as on the engine's EventBus: the write is committed, so the call that made it
 * must still resolve, and the other listeners must still hear of it.
 *
 * Each event's listeners are an array replaced on every subscribe and unsubscribe, never changed in
 * place, so `emit` walks what it found without a copy per event (one per finished job on the hot path).
 */
import type { Logger } from '../logger.js';
import type { StoreEvents } from './store.js';

type Listener<K extends keyof StoreEvents> = (payload: StoreEvents[K]) => void;

/** A store's typed listeners with its one listener-error policy. */
export class StoreEmitter {
  private readonly listeners = new Map<keyof StoreEvents, ReadonlyArray<(payload: never) => void>>();

  constructor(private readonly logger: Logger) {}

  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof StoreEvents>(event: K, listener: Listener<K>): () => void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return () => {
      const current = this.listeners.get(event) ?? [];
      const index = current.indexOf(listener);
      if (index >= 0) this.listeners.set(event, current.toSpliced(index, 1));
    };
  }

  /** True when `event` has a listener: lets hot paths skip building payloads nobody reads. */
  has(event: keyof StoreEvents): boolean {
    return (this.listeners.get(event)?.length ?? 0) > 0;
  }

  /** Calls every listener of `event`; one that throws is logged and the others still run. */
  emit<K extends keyof StoreEvents>(event: K, payload: StoreEvents[K]): void {
    const listeners = this.listeners.get(event);
    if (listeners === undefined) return;
    for (const listener of listeners) {
      try {
        (listener as Listener<K>)(payload);
      } catch (error) {
        this.logger.error({ err: error, event }, 'store event listener threw; ignored');
      }
    }
  }

  /** Forgets every listener (the store closed). */
  clear(): void {
    this.listeners.clear();
  }
}
