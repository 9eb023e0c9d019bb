/**
 * Drawing a page again when its times relative to now ("in 3.0 min", "now", "due 2.0 min ago", "ended
 * 12 s ago") would read differently. They are computed from this browser's clock when the page draws,
 * and no data or event changes at those moments, so nothing else would draw them again: each component
 * gives its time-dependent texts as functions of the time, and one timer for the whole page (not one per
 * row, nor one per component: the overview's queues and alerts share it) draws again, at the first
 * moment one of them changes, the components whose texts change then. Nothing is read from the server.
 */
import { useEffect, useState } from 'preact/hooks';
import { MAX_TIMEOUT_MS } from './due.js';

// A text that changes faster than this (a count of milliseconds under a second) is drawn again this
// often rather than at every millisecond; the tenths of a second ("4.2 s") change no faster.
const MIN_REDRAW_MS = 100;

/**
 * The first moment after `now` (ms since the epoch) at which `text(at)` reads differently from
 * `text(now)`, looked for up to `horizonMs` ahead; null when it reads the same all that time. Each text
 * must read one way over one stretch of time only (a countdown, an age, a threshold crossed once), so
 * the moment is found by doubling the step until the text differs, then halving the gap.
 */
export function nextChange(text: (at: number) => string, now: number, horizonMs: number): number | null {
  const shown = text(now);
  let same = now;
  let differs: number | null = null;
  for (let step = 1; differs === null; step *= 2) {
    const at = now + Math.min(step, horizonMs);
    if (text(at) !== shown) differs = at;
    else if (at - now >= horizonMs) return null;
    else same = at;
  }
  while (differs - same > 1) {
    const middle = Math.floor((same + differs) / 2);
    if (text(middle) === shown) same = middle;
    else differs = middle;
  }
  return differs;
}

/** A component waiting to be drawn again: when (this browser's clock), and how. */
interface Waiting {
  at: number;
  redraw: () => void;
}

// The page's components whose texts change at a known moment, by component; the one timer is armed at
// the soonest of those moments.
const waiting = new Map<object, Waiting>();
let armed: { at: number; timer: ReturnType<typeof setTimeout> } | null = null;

/** Arms the timer at the soonest moment waited for, unless it is armed there already; clears it when none. */
function arm(): void {
  let soonest: number | null = null;
  for (const { at } of waiting.values()) if (soonest === null || at < soonest) soonest = at;
  if (armed?.at === soonest) return;
  if (armed !== null) clearTimeout(armed.timer);
  armed = soonest === null ? null : { at: soonest, timer: setTimeout(fire, soonest - Date.now()) };
}

/** Draws again the components whose moment has come; the others keep waiting for theirs. */
function fire(): void {
  armed = null;
  const now = Date.now();
  for (const [component, { at, redraw }] of waiting) {
    if (at > now) continue;
    waiting.delete(component);
    redraw();
  }
  arm();
}

/**
 * Gives the time (this browser's clock) a draw computes its relative texts from, and draws the
 * component again at the first moment one of `texts` (each as it reads at a time) changes. Set again
 * after every draw, so a new list is followed at once; forgotten when the component goes.
 */
export function useRedrawWhenChanged(texts: ReadonlyArray<(at: number) => string>): number {
  const now = Date.now();
  const [, setDraws] = useState(0);
  // This component's key among those waiting: the same object for as long as it is shown.
  const [component] = useState(() => ({}));
  useEffect(() => {
    let soonest: number | null = null;
    for (const text of texts) {
      const at = nextChange(text, now, (soonest ?? now + MAX_TIMEOUT_MS) - now);
      if (at !== null && (soonest === null || at < soonest)) soonest = at;
    }
    if (soonest === null) waiting.delete(component);
    // Counted from this draw's time: a draw that took long redraws at once, never in a loop.
    else
      waiting.set(component, {
        at: Math.max(soonest, now + MIN_REDRAW_MS),
        redraw: () => setDraws((n) => n + 1),
      });
    arm();
  });
  useEffect(
    () => () => {
      waiting.delete(component);
      arm();
    },
    [component],
  );
  return now;
}
