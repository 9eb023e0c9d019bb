/**
 * The API's requests in flight, and a close of the server that ends within a bound.
 *
 * Fastify's `close()` stops listening and ends idle connections, then waits for every request in
 * flight, however long it takes: with the database black-holed, a request waiting on it held
 * `nightshift serve` and `nightshift start` for over a minute after SIGTERM (the statement timeout,
 * then the alert monitor's reading). And a keep-alive connection whose request ended after the close
 * began stayed open until its client or the keep-alive timeout (72 s) closed it.
 *
 * Here, once the server closes, every response says `Connection: close`, and a request arriving on an
 * open connection is answered 503 `shutting_down` in the API's error shape (Fastify's own 503 has a
 * shape of its own). `close({ waitMs })` gives the requests in flight `waitMs`; then each one not yet
 * answered gets 503 `shutting_down` (it may have taken effect or not: its store call is still out), a
 * response already under way is cut, and once those answers are on their way every connection left is
 * closed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from '../logger.js';
import { errorBody } from './errors.js';

/** How long the 503s of a close's deadline have to reach their clients before every connection is cut. */
export const ANSWER_FLUSH_MS = 1_000;

/** The requests an API server is handling; installed on the server before any other hook. */
export class InFlightRequests {
  private readonly replies = new Set<FastifyReply>();
  private closing = false;
  private closed: Promise<void> | undefined;
  private closeStartedAt = 0;
  private finished = false;
  private deadline: NodeJS.Timeout | undefined;
  private deadlineAt = Number.POSITIVE_INFINITY;
  private answering = false;

  constructor(
    private readonly app: FastifyInstance,
    private readonly logger: Logger,
  ) {
    // The first onRequest hook: a request waiting on the database in a later one (the token check)
    // is in flight as much as one in its handler.
    app.addHook('onRequest', async (_request, reply) => {
      if (this.closing) {
        return reply
          .code(503)
          .header('connection', 'close')
          .send(
            errorBody(
              'shutting_down',
              'the server is stopping and takes no new requests; nothing was done: send it again',
            ),
          );
      }
      this.replies.add(reply);
      reply.raw.once('close', () => this.replies.delete(reply));
      return undefined;
    });
    // Whoever closes the server (this class, a library user's `app.close()`): a response that ends
    // after this point ends its connection too, so no keep-alive connection holds the close open.
    app.addHook('preClose', (done) => {
      this.closing = true;
      for (const reply of this.replies) {
        if (!reply.raw.headersSent) reply.raw.setHeader('connection', 'close');
      }
      done();
    });
  }

  /**
   * Closes the server: no new connection or request from now on; the requests in flight get `waitMs`,
   * then are answered 503 (`shutting_down`) and every connection left is closed. Called again with a
   * shorter wait (a second signal), the earlier deadline wins. Resolves once the server has closed,
   * within `waitMs` plus `ANSWER_FLUSH_MS` unless one of its `onClose` hooks takes longer.
   */
  close(params: { waitMs: number }): Promise<void> {
    const { waitMs } = params;
    if (this.closed === undefined) this.closeStartedAt = performance.now();
    this.closed ??= this.app.close().finally(() => {
      this.finished = true;
      clearTimeout(this.deadline);
    });
    const at = performance.now() + waitMs;
    if (!this.finished && !this.answering && at < this.deadlineAt) {
      clearTimeout(this.deadline);
      this.deadlineAt = at;
      this.deadline = setTimeout(() => {
        this.answering = true;
        void this.answerAll();
      }, waitMs);
    }
    return this.closed;
  }

  /** Answers or cuts every request in flight, then, once the answers went out, closes every connection. */
  private async answerAll(): Promise<void> {
    const answers: Array<Promise<void>> = [];
    let cut = 0;
    for (const reply of this.replies) {
      // Sent: ended, or taken over by its route (an event stream, which the server's close ends).
      if (reply.sent) continue;
      if (reply.raw.headersSent) {
        // A response under way cannot become a 503; its client sees the connection end early.
        reply.raw.destroy();
        cut += 1;
        continue;
      }
      answers.push(new Promise((resolve) => reply.raw.once('close', resolve)));
      reply
        .code(503)
        .header('connection', 'close')
        .send(
          errorBody(
            'shutting_down',
            'the server stopped before this request was answered: whether it took effect is unknown',
          ),
        );
    }
    if (answers.length > 0 || cut > 0) {
      this.logger.warn(
        { answered: answers.length, cut, waitedMs: Math.round(performance.now() - this.closeStartedAt) },
        'stopping: API requests still in flight when the wait ended answered 503',
      );
    }
    await Promise.race([Promise.all(answers), sleep(ANSWER_FLUSH_MS, undefined, { ref: false })]);
    this.app.server.closeAllConnections();
  }
}
