/**
 * Reads a /metrics answer the way Prometheus does: from the HTTP text, line by line, by the text
 * exposition format 0.0.4, never from prom-client's own objects. Every line must be a comment, a
 * HELP/TYPE line or a sample of a family whose TYPE came before it; anything else fails the test.
 *
 * (parse-prometheus-text-format 1.1.1 was tried first: it drops the labels, `_sum` and `_count` of
 * every histogram with labels, so it could not check ours.)
 */

type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})?[ \\t]+(\\S+)(?:[ \\t]+-?\\d+)?$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/;
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest !== '') {
    const match = LABEL.exec(rest);
    if (match === null) throw new Error(`bad labels in: ${line}`);
    labels[match[1] as string] = (match[2] as string).replace(/\\(.)/g, (_, c: string) =>
      c === 'n' ? '\n' : c,
    );
    rest = rest.slice(match[0].length);
  }
  return labels;
}

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  const value = Number(text);
  if (text !== 'NaN' && Number.isNaN(value)) throw new Error(`bad value in: ${line}`);
  return value;
}

/** A parsed scrape with lookups by name and labels. */
export class Scrape {
  private readonly types = new Map<string, MetricType>();
  private readonly samples: Sample[] = [];

  constructor(text: string) {
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (type !== null) {
        this.types.set(type[1] as string, type[2] as MetricType);
        continue;
      }
      if (line.startsWith('#')) continue;
      const match = SAMPLE.exec(line);
      if (match === null) throw new Error(`not a sample line: ${line}`);
      const name = match[1] as string;
      if (this.familyOf(name) === undefined) throw new Error(`sample before its TYPE: ${line}`);
      this.samples.push({
        name,
        labels: parseLabels(match[2] ?? '', line),
        value: parseValue(match[3] as string, line),
      });
    }
  }

  private familyOf(sample: string): string | undefined {
    if (this.types.has(sample)) return sample;
    const suffix = HISTOGRAM_SUFFIXES.find((s) => sample.endsWith(s));
    const base = suffix === undefined ? undefined : sample.slice(0, -suffix.length);
    return base !== undefined && this.types.get(base) === 'histogram' ? base : undefined;
  }

  /** A family's declared type, or undefined when the scrape has no such family. */
  type(name: string): MetricType | undefined {
    return this.types.get(name);
  }

  /** The value of the one sample named `name` whose labels include `labels`; undefined when none. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const found = this.samples.filter(
      (s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value),
    );
    if (found.length > 1)
      throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
    return found[0]?.value;
  }

  /** A histogram's observation count (its `_count` sample). */
  count(name: string, labels: Record<string, string> = {}): number | undefined {
    return this.value(`${name}_count`, labels);
  }

  /** Every sample of a name. */
  series(name: string): Sample[] {
    return this.samples.filter((s) => s.name === name);
  }
}
