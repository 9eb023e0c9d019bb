/**
 * Named secrets: a job's payload holds only a secret's name (`{ secret: 'billing-token' }`); its value
 * is looked up when the request is made and lives only in memory for that request. Everything an
 * HTTP job writes or throws (result, error message) goes through a `Redactor` first, so a server that
 * echoes the credential back cannot get it stored either.
 */
import { NonRetryableError } from '../errors.js';

/** A header value taken from a secret; `format` places it (`'Bearer {}'`), default the bare value. */
export interface SecretRef {
  secret: string;
  format?: string;
}

/** Secret names: letters, digits, `.`, `_`, `-`, starting with a letter or digit. */
export const SECRET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** What replaces a secret's value in anything stored. */
export const REDACTED = '[redacted]';

/** The environment variable that holds secret `name`. */
export function secretEnvName(name: string): string {
  return `NIGHTSHIFT_SECRET_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** Looks secrets up (environment first, then config) and remembers every value it handed out. */
export class SecretResolver {
  readonly redactor = new Redactor();

  constructor(
    private readonly configured: ReadonlyMap<string, string>,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** The header value for `ref`; a secret that is not defined fails the job for good. */
  headerValue(ref: SecretRef): string {
    const value = this.env[secretEnvName(ref.secret)] || this.configured.get(ref.secret);
    if (value === undefined || value === '') {
      throw new NonRetryableError(
        `secret "${ref.secret}" is not defined: set ${secretEnvName(ref.secret)} or httpJobs.secrets["${ref.secret}"] where the worker runs`,
      );
    }
    const header = ref.format === undefined ? value : ref.format.split('{}').join(value);
    this.redactor.add(value);
    return header;
  }
}

/** Replaces known secret values in text. */
export class Redactor {
  private readonly values = new Set<string>();

  /** Remembers `value`, also as it appears inside a JSON string and inside a URL. */
  add(value: string): void {
    this.values.add(value);
    this.values.add(JSON.stringify(value).slice(1, -1));
    this.values.add(encodeURIComponent(value));
  }

  redact(text: string): string {
    let out = text;
    // Longest first, so an escaped form is replaced whole rather than around a shorter one.
    for (const value of [...this.values].sort((a, b) => b.length - a.length)) {
      out = out.split(value).join(REDACTED);
    }
    return out;
  }
}
