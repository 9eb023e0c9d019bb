/**
 * Small inline SVG charts for the overview: a few dozen points each, so no chart library; every
 * chart has a text alternative (role="img" and a label) for screen readers and tests.
 */

export interface Series {
  label: string;
  /** CSS colour, a custom property of style.css. */
  color: string;
  values: Array<number | null>;
}

const WIDTH = 300;
const HEIGHT = 80;

/** Lines over the same x axis (one point per minute), scaled to the largest value. */
export function LineChart(props: { title: string; series: Series[]; unit: (v: number) => string }) {
  const all = props.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  // No value at all (latencies of an hour without attempts) has no peak, and values that are all 0
  // (counts of that hour) none above 0: the scale then only keeps the division finite.
  const peak = all.length === 0 ? null : Math.max(...all);
  const max = peak !== null && peak > 0 ? peak : 1;
  const scale = peak === null ? 'no data' : peak === 0 ? `all ${props.unit(0)}` : `peak ${props.unit(peak)}`;
  const points = Math.max(2, ...props.series.map((s) => s.values.length));
  const x = (i: number) => (i / (points - 1)) * WIDTH;
  const y = (v: number) => HEIGHT - (v / max) * (HEIGHT - 4) - 2;
  const summary = props.series
    .map((s) => {
      const last = [...s.values].reverse().find((v) => v !== null);
      return `${s.label} ${last === undefined || last === null ? 'none' : props.unit(last)}`;
    })
    .join(', ');
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
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={peak === null ? `${props.title}: no data` : `${props.title}: latest ${summary}; ${scale}`}
      >
        <line x1="0" y1={HEIGHT - 1} x2={WIDTH} y2={HEIGHT - 1} class="axis" />
        {props.series.map((s) => (
          <path
            key={s.label}
            fill="none"
            stroke={s.color}
            stroke-width="2"
            stroke-linecap="round"
            stroke-linejoin="round"
            vector-effect="non-scaling-stroke"
            d={runs(s.values)
              .map((run) => {
                const [first, ...rest] = run.map(({ i, v }) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`);
                // A lone minute is a zero-length segment, which the round cap draws as a dot.
                return `M${first} L${(rest.length === 0 ? [first] : rest).join(' ')}`;
              })
              .join(' ')}
          />
        ))}
      </svg>
      <div class="chart-scale">
        <span>{scale}</span>
        <span>now</span>
      </div>
    </figure>
  );
}

/**
 * The stretches of consecutive minutes that have a value: a line is drawn along each and broken
 * where a minute had no attempts, rather than joined across it as if it had been measured.
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
