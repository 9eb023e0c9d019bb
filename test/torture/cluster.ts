/**
 * The processes of a torture run: worker and scheduler children (node-process.ts), each respawned
 * after it exits until the run stops them. Each incarnation writes its own history file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nodeScriptArgs } from '../support/child-process.js';
import type { HistoryWriter } from './history.js';

/** One worker or scheduler slot of the cluster and its current process. */
export interface Member {
  readonly slot: string;
  readonly role: 'worker' | 'scheduler';
  /** The database URL this member uses (PostgreSQL: directly or through the black-hole proxy). */
  readonly db: string;
  readonly env: Record<string, string>;
  generation: number;
  child: ChildProcess | undefined;
  /** Frozen by SIGSTOP: no other fault picks it until it is continued. */
  frozen: boolean;
  exited: Promise<void>;
  stderrTail: string;
}

const NODE_PROCESS = new URL('./node-process.ts', import.meta.url);
const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url));
const RESPAWN_DELAY_MS = 500;

/** The children of a run. */
export class Cluster {
  readonly members: Member[] = [];
  private stopping = false;

  constructor(
    private readonly historyDir: string,
    private readonly backend: 'sqlite' | 'postgres',
    private readonly history: HistoryWriter,
  ) {
    // A driver that dies leaves no process behind on the shared machine.
    process.on('exit', () => {
      for (const member of this.members) member.child?.kill('SIGKILL');
    });
  }

  add(slot: string, role: Member['role'], db: string, env: Record<string, string> = {}): Member {
    const member: Member = {
      slot,
      role,
      db,
      env,
      generation: 0,
      child: undefined,
      frozen: false,
      exited: Promise.resolve(),
      stderrTail: '',
    };
    this.members.push(member);
    this.spawn(member);
    return member;
  }

  private spawn(member: Member): void {
    member.generation += 1;
    const name = `${member.slot}.${member.generation}`;
    const child = spawn(
      process.execPath,
      [...nodeScriptArgs(NODE_PROCESS), member.role, name, member.db, this.historyDir, this.backend],
      {
        cwd: REPOSITORY,
        env: { ...process.env, ...member.env },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    member.child = child;
    member.frozen = false;
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      member.stderrTail = (member.stderrTail + chunk).slice(-4_000);
    });
    this.history.record({
      kind: 'process',
      role: member.role,
      pid: child.pid ?? -1,
      phase: 'spawned',
      detail: name,
    });
    member.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.history.record({
          kind: 'process',
          role: member.role,
          pid: child.pid ?? -1,
          phase: 'exited',
          detail: `${name} code ${String(code)} signal ${String(signal)}`,
        });
        if (member.child === child) member.child = undefined;
        if (!this.stopping) {
          setTimeout(() => {
            if (!this.stopping) this.spawn(member);
          }, RESPAWN_DELAY_MS);
        }
        resolve();
      });
    });
  }

  /** Live, unfrozen members of `role`. */
  live(role: Member['role']): Member[] {
    return this.members.filter(
      (member) => member.role === role && member.child !== undefined && !member.frozen,
    );
  }

  /** Continues frozen processes. */
  thaw(): void {
    for (const member of this.members) {
      if (member.frozen) member.child?.kill('SIGCONT');
      member.frozen = false;
    }
  }

  /** Stops every process (SIGTERM, then SIGKILL after `graceMs`) and spawns no more. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.thaw();
    await Promise.all(
      this.members.map(async (member) => {
        const child = member.child;
        if (!child) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await member.exited;
        clearTimeout(timer);
      }),
    );
  }
}
