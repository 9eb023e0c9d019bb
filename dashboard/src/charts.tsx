/**
 * Small inline SVG charts for the overview: a few dozen points each, so no chart library; every
 * chart has a text alternative (role="img" and a label) for screen readers and tests, and every bucket
 * tells its time and values on hover (a `<title>`).
 */

export interface Series {
  label: string;
  /** CSS colour, a custom property of style.css. */
  color: string;
  values: Array<number | null>;
}

/** A time x axis: the start of each bucket (ms since the epoch), oldest first, evenly spaced. */
export interface TimeAxis {
  starts: number[];
  bucketMs: number;
}

const WIDTH = 300;
const HEIGHT = 80;

/** Steps between time ticks, the shortest first; the chart takes the first that gives at most 4. */
const TICK_STEPS_MS = [1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600].map(
  (s) => s * 1_000,
);
const MAX_TICKS = 4;
/** Ticks this close to either end (a fraction of the width) would run off the chart: left out. */
const TICK_MARGIN = 0.06;
/** Beyond this fraction of the axis a tick's label is hidden on a narrow chart (style.css). */
const NEAR_NOW = 0.8;

/**
 * Lines over the same x axis, scaled to the largest value; a point alone between gaps is a dot. With a
 * time `axis`, round times label it and each point's hover text starts with its time; without one the
 * points are evenly spaced events (a schedule's runs).
 */
export function LineChart(props: {
  title: string;
  series: Series[];
  axis?: TimeAxis;
  unit: (v: number) => string;
}) {
  const all = props.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  // Values that are all 0 (latencies under a millisecond) have no peak: the scale then only keeps
  // the division finite.
  const peak = Math.max(0, ...all);
  const max = peak > 0 ? peak : 1;
  const scale = peak === 0 ? `all ${props.unit(0)}` : `peak ${props.unit(peak)}`;
  const length = Math.max(...props.series.map((s) => s.values.length));
  const points = Math.max(2, length);
  const x = (i: number) => (i / (points - 1)) * WIDTH;
  const y = (v: number) => HEIGHT - (v / max) * (HEIGHT - 4) - 2;
  const { axis } = props;
  const first = axis?.starts[0] ?? 0;
  const spanMs = (points - 1) * (axis?.bucketMs ?? 0);
  const ticks = axis === undefined ? [] : timeTicks(first, spanMs);
  const summary = props.series
    .map((s) => {
      const last = [...s.values].reverse().find((v) => v !== null);
      return `${s.label} ${last === undefined || last === null ? 'none' : props.unit(last)}`;
    })
    .join(', ');
  const label = (at: number) => clock(at, axis?.bucketMs ?? 0);
  const pointText = (i: number) => {
    const values = props.series.map((s) => `${s.label} ${valueText(s.values[i], props.unit)}`).join(', ');
    const at = axis?.starts[i];
    return at === undefined ? values : `${label(at)}: ${values}`;
  };
  return (
    <figure class="chart">
      <figcaption>
        {props.title}
        <span class="legend">
          {props.series.map((s) => (
            <span key={s.label} style={{ color: s.color }}>
              ● {s.label}
            </span>
          ))}
        </span>
      </figcaption>
      <div class="chart-peak">{scale}</div>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`${props.title}: latest ${summary}; ${scale}`}
      >
        {ticks.map((at) => (
          <line
            key={at}
            class="grid"
            x1={(((at - first) / spanMs) * WIDTH).toFixed(1)}
            x2={(((at - first) / spanMs) * WIDTH).toFixed(1)}
            y1="0"
            y2={HEIGHT}
            vector-effect="non-scaling-stroke"
          />
        ))}
        <line x1="0" y1={HEIGHT - 1} x2={WIDTH} y2={HEIGHT - 1} class="axis" />
        {props.series.map((s) => {
          const found = runs(s.values);
          const point = ({ i, v }: { i: number; v: number }) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`;
          return (
            <g key={s.label} stroke={s.color} fill="none" stroke-linecap="round" stroke-linejoin="round">
              <path
                class="line"
                stroke-width="2"
                vector-effect="non-scaling-stroke"
                d={found
                  .filter((run) => run.length > 1)
                  .map((run) => `M${run.map(point).join(' L')}`)
                  .join(' ')}
              />
              {/* A lone bucket has no neighbour to draw a line to: a zero-length segment, which the
                  round cap draws as a dot wide enough to see (circles would stretch with the axis). */}
              <path
                class="dots"
                stroke-width="7"
                vector-effect="non-scaling-stroke"
                d={found
                  .filter((run) => run.length === 1)
                  .map(([only]) => (only === undefined ? '' : `M${point(only)} l0,0`))
                  .join(' ')}
              />
            </g>
          );
        })}
        {Array.from({ length }, (_, i) => (
          <rect
            key={i}
            class="bucket"
            x={Math.max(0, x(i) - WIDTH / (points - 1) / 2).toFixed(1)}
            width={(WIDTH / (points - 1)).toFixed(1)}
            y="0"
            height={HEIGHT}
          >
            <title>{pointText(i)}</title>
          </rect>
        ))}
      </svg>
      <div class="chart-times">
        {ticks.map((at) => {
          const fraction = (at - first) / spanMs;
          return (
            // A label this near the right end runs into "now" on a narrow chart, which hides it (CSS).
            <span
              key={at}
              class={fraction > NEAR_NOW ? 'near-now' : undefined}
              style={{ left: `${(fraction * 100).toFixed(2)}%` }}
            >
              {label(at)}
            </span>
          );
        })}
        <span class="now">now</span>
      </div>
    </figure>
  );
}

function valueText(v: number | null | undefined, unit: (v: number) => string): string {
  return v === null || v === undefined ? '–' : unit(v);
}

/**
 * Round times inside the axis (whole multiples of a step since the epoch) at which to label it: the
 * shortest step that gives at most MAX_TICKS, without those too near either end.
 */
function timeTicks(first: number, spanMs: number): number[] {
  const step = TICK_STEPS_MS.find((ms) => spanMs / ms <= MAX_TICKS) ?? spanMs;
  const ticks: number[] = [];
  for (let at = Math.ceil(first / step) * step; at <= first + spanMs; at += step) {
    const fraction = (at - first) / spanMs;
    if (fraction >= TICK_MARGIN && fraction <= 1 - TICK_MARGIN * 2) ticks.push(at);
  }
  return ticks;
}

/** A local time of day, with seconds when buckets are shorter than a minute. */
function clock(at: number, bucketMs: number): string {
  return new Date(at).toLocaleTimeString(undefined, {
    hour: '2-digit',
    minute: '2-digit',
    ...(bucketMs < 60_000 ? { second: '2-digit' } : {}),
  });
}

/**
 * The stretches of consecutive buckets that have a value: a line is drawn along each and broken
 * where a bucket had no attempts, rather than joined across it as if it had been measured.
 */
function runs(values: Array<number | null>): Array<Array<{ i: number; v: number }>> {
  const found: Array<Array<{ i: number; v: number }>> = [];
  let current: Array<{ i: number; v: number }> = [];
  values.forEach((v, i) => {
    if (v === null) {
      if (current.length > 0) found.push(current);
      current = [];
    } else current.push({ i, v });
  });
  if (current.length > 0) found.push(current);
  return found;
}
