/**
 * What the dashboard's create and edit forms share: labelled fields that keep exactly what was typed,
 * and the checks that turn that text into what the API takes. A field that cannot be read (JSON that
 * does not parse, a number that is not whole) stops the form before any request, with a message
 * naming the field; everything else is left to the server, whose refusal the form then shows.
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiFailure } from './api.js';

/** A field whose text cannot become what the API takes: the form says so and sends nothing. */
export class FieldProblem extends Error {}

/** The form's fields as typed: text, or a checkbox's state. */
type Draft = Record<string, string | boolean>;

/** The keys of a draft's text fields (a select's value is text too). */
type TextKey<D extends Draft> = { [K in keyof D]: D[K] extends string ? K : never }[keyof D] & string;

/**
 * A form's draft, and the props that bind a field to it: its element id (`<prefix>-<key>`, unique on
 * the page), its value and what writes it back.
 */
export function useDraft<D extends Draft>(prefix: string, initial: () => D) {
  const [draft, setDraft] = useState<D>(initial);
  const set = <K extends keyof D>(key: K, value: D[K]) =>
    setDraft((current) => ({ ...current, [key]: value }));
  const id = (key: string) => `${prefix}-${key}`;
  const text = <K extends TextKey<D>>(key: K) => ({
    id: id(key),
    value: draft[key] as string,
    onInput: (value: string) => set(key, value as D[K]),
  });
  const choice = <K extends TextKey<D>>(key: K) => ({
    id: id(key),
    value: draft[key],
    onChange: (value: D[K]) => set(key, value),
  });
  const duration = <K extends TextKey<D>, U extends TextKey<D>>(key: K, unit: U) => ({
    ...text(key),
    unit: draft[unit] as Unit,
    onUnit: (value: Unit) => set(unit, value as D[U]),
  });
  return { draft, set, id, text, choice, duration };
}

/** Parsed JSON, or undefined for an empty field. */
export function jsonOf(label: string, text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new FieldProblem(
      `${label} is not valid JSON (${error instanceof Error ? error.message : String(error)}). Nothing was sent.`,
    );
  }
}

/** A whole number, or undefined for an empty field. The server checks the range. */
export function integerOf(label: string, text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const value = Number(trimmed);
  if (!/^[+-]?\d+$/.test(trimmed) || !Number.isSafeInteger(value))
    throw new FieldProblem(`${label} must be a whole number, not "${trimmed}". Nothing was sent.`);
  return value;
}

/** The units a duration field offers, each in milliseconds. */
const UNITS = [
  { id: 'ms', label: 'ms', ms: 1 },
  { id: 's', label: 'seconds', ms: 1_000 },
  { id: 'min', label: 'minutes', ms: 60_000 },
  { id: 'h', label: 'hours', ms: 3_600_000 },
  { id: 'd', label: 'days', ms: 86_400_000 },
] as const;
export type Unit = (typeof UNITS)[number]['id'];

/** A duration in milliseconds from a number and a unit, or undefined for an empty field. */
export function durationOf(label: string, text: string, unit: Unit): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const amount = Number(trimmed);
  const ms = amount * (UNITS.find((u) => u.id === unit)?.ms ?? 1);
  // The API takes whole milliseconds: 1.5 s is fine, 0.0005 s is not.
  if (!/^\d+(\.\d+)?$/.test(trimmed) || !Number.isSafeInteger(ms))
    throw new FieldProblem(
      `${label} must be a number of ${unit} that makes whole milliseconds, not "${trimmed}". Nothing was sent.`,
    );
  return ms;
}

/** A stored duration as the form shows it: in the largest unit that holds it whole (90 s, not 1.5 min). */
export function durationText(ms: number | null): { text: string; unit: Unit } {
  if (ms === null) return { text: '', unit: 's' };
  const unit = [...UNITS].reverse().find((u) => ms !== 0 && ms % u.ms === 0) ?? UNITS[0];
  return { text: String(ms / unit.ms), unit: unit.id };
}

/** What a refused request says, for the line beside the form. */
export function refusal(error: unknown): string {
  if (error instanceof FieldProblem) return error.message;
  if (error instanceof ApiFailure) return `The server refused it: ${error.message}`;
  return `The request failed: ${error instanceof Error ? error.message : String(error)}`;
}

interface FieldProps {
  id: string;
  label: string;
  hint?: string;
}

/** A label over its control, with a hint under it. */
function Field(props: FieldProps & { children: ComponentChildren; wide?: boolean }) {
  return (
    <div class={props.wide === true ? 'field wide-field' : 'field'}>
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint !== undefined && (
        <p class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </p>
      )}
    </div>
  );
}

const described = (props: FieldProps) => (props.hint === undefined ? undefined : `${props.id}-hint`);

export function TextField(
  props: FieldProps & {
    value: string;
    onInput: (value: string) => void;
    placeholder?: string;
    /** The id of a <datalist> of suggestions. */
    list?: string;
    required?: boolean;
    mono?: boolean;
  },
) {
  return (
    <Field {...props}>
      <input
        id={props.id}
        value={props.value}
        placeholder={props.placeholder}
        list={props.list}
        required={props.required}
        class={props.mono === true ? 'mono' : undefined}
        aria-describedby={described(props)}
        autoComplete="off"
        spellcheck={false}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
    </Field>
  );
}

export function JsonField(props: FieldProps & { value: string; onInput: (value: string) => void }) {
  return (
    <Field {...props} wide>
      <textarea
        id={props.id}
        rows={4}
        class="mono"
        value={props.value}
        placeholder='{"region": "eu"}'
        aria-describedby={described(props)}
        spellcheck={false}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
    </Field>
  );
}

export function SelectField<V extends string>(
  props: FieldProps & {
    value: V;
    options: ReadonlyArray<{ value: V; label: string }>;
    onChange: (value: V) => void;
  },
) {
  return (
    <Field {...props}>
      <select
        id={props.id}
        value={props.value}
        aria-describedby={described(props)}
        onChange={(e) => props.onChange(e.currentTarget.value as V)}
      >
        {props.options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    </Field>
  );
}

/** What a duration's number and unit take: the text typed, its unit, and what writes each back. */
interface DurationProps {
  value: string;
  unit: Unit;
  onInput: (value: string) => void;
  onUnit: (unit: Unit) => void;
  placeholder?: string;
  required?: boolean;
}

/** A number and its unit; the unit select is labelled "<label> unit". */
export function DurationField(props: FieldProps & DurationProps) {
  return (
    <Field {...props}>
      <DurationInput {...props} describedBy={described(props)} />
    </Field>
  );
}

/**
 * A duration's number and unit side by side, without a label element: the number is labelled by the
 * caller's <label for={id}>, or without an id (an inline form in a table row) by `label` itself.
 */
export function DurationInput(
  props: DurationProps & { id?: string; label: string; describedBy?: string | undefined },
) {
  return (
    <div class="with-unit">
      <input
        id={props.id}
        aria-label={props.id === undefined ? props.label : undefined}
        inputMode="decimal"
        value={props.value}
        placeholder={props.placeholder}
        required={props.required}
        aria-describedby={props.describedBy}
        autoComplete="off"
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
      <select
        aria-label={`${props.label} unit`}
        value={props.unit}
        onChange={(e) => props.onUnit(e.currentTarget.value as Unit)}
      >
        {UNITS.map((unit) => (
          <option key={unit.id} value={unit.id}>
            {unit.label}
          </option>
        ))}
      </select>
    </div>
  );
}

/**
 * A whole number from `min` to `max`: the browser refuses anything else before the form is sent, for
 * a value the page knows the server's bounds of.
 */
export function WholeNumberField(
  props: FieldProps & {
    value: string;
    onInput: (value: string) => void;
    min: number;
    max: number;
    placeholder?: string;
  },
) {
  return (
    <Field {...props}>
      <input
        id={props.id}
        type="number"
        min={props.min}
        max={props.max}
        step={1}
        value={props.value}
        placeholder={props.placeholder}
        aria-describedby={described(props)}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
    </Field>
  );
}

export function CheckboxField(props: {
  id: string;
  label: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
}) {
  return (
    <label class="toggle field" for={props.id}>
      <input
        id={props.id}
        type="checkbox"
        checked={props.checked}
        onChange={(e) => props.onChange(e.currentTarget.checked)}
      />{' '}
      {props.label}
    </label>
  );
}

/** The options most people leave alone, folded away under one summary. */
export function MoreOptions(props: { children: ComponentChildren }) {
  return (
    <details class="more-options">
      <summary>More options</summary>
      <div class="form-grid">{props.children}</div>
    </details>
  );
}

/** What the form says beside its button: a refusal, or how it went. */
interface FormOutcome {
  error: boolean;
  body: ComponentChildren;
}

/**
 * A form's submission: the body `build` makes of the draft (a FieldProblem stops it before any
 * request; a string says there is nothing to send, and why), sent by `request`; `said` turns the
 * reply into the line shown (null for none: the form is gone) and `refused` the server's refusal.
 */
export function useSubmit() {
  const [outcome, setOutcome] = useState<FormOutcome | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = <T, Body extends object = Record<string, unknown>>(
    build: () => Body | string,
    request: (body: Body) => Promise<T>,
    said: (reply: T) => ComponentChildren | null,
    refused: (error: unknown) => string = refusal,
  ) => {
    setOutcome(null);
    let body: Body | string;
    try {
      body = build();
    } catch (error) {
      setOutcome({ error: true, body: refusal(error) });
      return;
    }
    if (typeof body === 'string') {
      setOutcome({ error: false, body });
      return;
    }
    setBusy(true);
    request(body).then(
      (reply) => {
        setBusy(false);
        const line = said(reply);
        if (line !== null) setOutcome({ error: false, body: line });
      },
      (error: unknown) => {
        setBusy(false);
        setOutcome({ error: true, body: refused(error) });
      },
    );
  };
  return { outcome, busy, submit };
}

/** The form's outcome (a refusal is announced at once) over its submit button. */
export function SubmitRow(props: { outcome: FormOutcome | null; busy: boolean; label: string }) {
  const { outcome } = props;
  return (
    <>
      {outcome !== null && (
        <p class={outcome.error ? 'error' : 'outcome'} role={outcome.error ? 'alert' : 'status'}>
          {outcome.body}
        </p>
      )}
      <div class="form-buttons">
        <button type="submit" class="primary" disabled={props.busy}>
          {props.label}
        </button>
      </div>
    </>
  );
}
