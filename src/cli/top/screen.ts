/**
 * The live `nightshift top` screen: the alternate screen with the cursor hidden, one frame redrawn in
 * place every interval (cursor home, each line cleared to its end, the rest of the screen cleared
 * after the last), at once when the terminal is resized. It ends on q, Ctrl-C (raw mode delivers it as
 * a key), SIGINT or SIGTERM, and always leaves the terminal as it found it: cursor shown, main screen
 * back, raw mode off. A failed read shows its error in place of the frame and is tried again.
 */
import { sleep } from '../../runtime/sleep.js';
import { renderFrame } from './frame.js';
import type { TopSnapshot } from './snapshot.js';

const ESC = '\u001b[';
const ENTER = `${ESC}?1049h${ESC}?25l`;
const LEAVE = `${ESC}?25h${ESC}?1049l`;
const HOME = `${ESC}H`;
const CLEAR_LINE_END = `${ESC}K`;
const CLEAR_BELOW = `${ESC}J`;

/** The streams the screen draws on and reads keys from. */
export interface ScreenIo {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
}

/** Runs the screen until the operator quits; resolves once the terminal is restored. */
export async function runScreen(
  read: (previous: TopSnapshot | undefined) => Promise<TopSnapshot>,
  options: { intervalMs: number; io: ScreenIo },
): Promise<void> {
  const { stdin, stdout } = options.io;
  const quit = new AbortController();
  let last: string[] | null = null;
  const draw = (lines: string[]): void => {
    last = lines;
    stdout.write(HOME + lines.map((line) => line + CLEAR_LINE_END).join('\r\n') + CLEAR_BELOW);
  };
  const size = (): { width: number; height: number } => ({
    width: stdout.columns || 80,
    height: stdout.rows || 24,
  });
  let snapshot: TopSnapshot | undefined;
  const redraw = (): void => {
    if (snapshot) draw(renderFrame(snapshot, size(), options.intervalMs));
    else if (last) draw(last.map((line) => line.slice(0, size().width)));
  };

  const onKey = (key: Buffer | string): void => {
    const text = key.toString();
    if (text === 'q' || text === 'Q' || text === '\u0003') quit.abort();
  };
  const onSignal = (): void => quit.abort();
  stdout.write(ENTER);
  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.on('data', onKey);
  stdin.resume();
  stdout.on('resize', redraw);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    while (!quit.signal.aborted) {
      try {
        snapshot = await read(snapshot);
        redraw();
      } catch (error) {
        snapshot = undefined;
        draw([
          `nightshift top: ${error instanceof Error ? error.message : String(error)}`.slice(0, size().width),
          'retrying…',
        ]);
      }
      await sleep(options.intervalMs, quit.signal);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    stdout.off('resize', redraw);
    stdin.off('data', onKey);
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
    stdout.write(LEAVE);
  }
}
