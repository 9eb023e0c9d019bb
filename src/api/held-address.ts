/**
 * The API's address, listened on before the API exists and kept until the API server takes that very
 * socket over. `serve` and `start` hold it before they open (perhaps create and migrate) their
 * database, so a port in use is refused before anything is created; and since the socket is handed
 * over rather than closed and opened again, no other process can take the port in between.
 *
 * A connection made while the address is held (a supervisor's health probe during start-up) waits
 * for the API and is served by it. Before, the holder was closed first, and its close waited for such
 * a connection to end: one open probe stalled the start until the client gave up.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { FastifyInstance, FastifyListenOptions } from 'fastify';
import { NightshiftError } from '../errors.js';

/** A listening socket on the API's address, not yet serving. */
export interface HeldAddress {
  /** The host listened on, as given. */
  readonly host: string;
  /** The port listened on (the one picked, where port 0 was given). */
  readonly port: number;
  /** Makes `app` listen on the held socket, then hands it the connections that came while held. */
  handTo(app: FastifyInstance): Promise<void>;
  /** Stops listening and drops the connections waiting; nothing to do once handed over. */
  release(): Promise<void>;
}

/**
 * Listens on `host:port` (port 0: any free port), or refuses with `config_error` as the API's own
 * listen would have: `cannot listen on <host>:<port>: <reason>`.
 */
export async function holdAddress(host: string, port: number): Promise<HeldAddress> {
  // As `http.Server` sets up its own sockets, so a connection handed over behaves as one it accepted.
  const server = createServer({ allowHalfOpen: true, noDelay: true });
  const waiting = new Set<Socket>();
  server.on('connection', (socket) => {
    waiting.add(socket);
    // A client that resets while waiting must not throw an unhandled 'error' in the service.
    socket.on('error', ignore);
    socket.once('close', () => waiting.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, resolve);
  }).catch((error: unknown) => {
    throw cannotListen(host, port, error);
  });
  let handed = false;
  let released: Promise<void> | undefined;
  return {
    host,
    port: (server.address() as { port: number }).port,
    async handTo(app) {
      await app.listen({ host, handle: listeningHandle(server) } as FastifyListenOptions);
      handed = true;
      for (const socket of waiting) {
        socket.off('error', ignore);
        // How `http.Server` is given a connection it did not accept (Node's 'connection' event).
        app.server.emit('connection', socket);
      }
      waiting.clear();
    },
    release: () =>
      (released ??= handed
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            // close() calls back once every connection has ended: end the waiting ones now.
            server.close(() => resolve());
            for (const socket of waiting) socket.destroy();
          })),
  };
}

/** The refusal of an address the API cannot listen on, wherever the listen failed. */
export function cannotListen(host: string, port: number, error: unknown): NightshiftError {
  const reason = error instanceof Error ? error.message : String(error);
  return new NightshiftError('config_error', `cannot listen on ${host}:${port}: ${reason}`, {
    cause: error,
  });
}

/**
 * The listening socket under `server`, for another server's `listen({ handle })`. Node documents
 * `server.listen(handle)` as taking "anything with an underlying `_handle` member"; Fastify forwards
 * its listen options to it, so the handle itself is passed.
 */
function listeningHandle(server: Server): unknown {
  return (server as unknown as { _handle: unknown })._handle;
}

function ignore(): void {}
