/**
 * The API's address held before the API exists (`holdApiAddress`), as `serve` and `start` hold it
 * while their database opens, then served on (`serveApiOn`): the connections made meanwhile are the
 * API's to answer; a start refused after the hold lets the port go and closes them; a client that
 * resets while it waits throws nothing in the process.
 */
import * as channels from 'node:diagnostics_channel';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdApiAddress, serveApiOn } from '../../src/api/server.js';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { tempSqliteFile } from '../support/temp-sqlite.js';

const file = tempSqliteFile();
const logger = createLogger({ level: 'silent' });
let ns: Nightshift;

beforeAll(async () => {
  ns = await Nightshift.connect({ db: `sqlite:${file.path}`, logger });
});

afterAll(async () => {
  await ns.close();
  file.remove();
});

/** A client connected to 127.0.0.1:`port`, and everything it has received. */
async function client(
  port: number,
): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return { socket, received: () => received, closed };
}

function listenOn(port: number): Promise<Server> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve(server));
  });
}

describe('an address held for the API', () => {
  it('is the API’s once served: a request made while it was held is answered', async () => {
    const address = await holdApiAddress({ host: '127.0.0.1', port: 0 });
    await expect(listenOn(address.port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    const early = await client(address.port);
    early.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    const { app, url } = await serveApiOn(address, { ns, logger });
    try {
      expect(url).toBe(`http://127.0.0.1:${address.port}`);
      await early.closed;
      expect(early.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\n\{"status":"ok"\}$/);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      // Let go once served: nothing to do, the API keeps listening.
      await address.release();
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      await app.close();
    }
    const reused = await listenOn(address.port);
    await new Promise((resolve) => reused.close(resolve));
  });

  it('is let go when the API refuses to start, and the connections made meanwhile are closed', async () => {
    const address = await holdApiAddress({ host: '127.0.0.1', port: 0 });
    const early = await client(address.port);
    await expect(serveApiOn(address, { ns, logger, readOnly: 'no' as never })).rejects.toMatchObject({
      code: 'config_error',
      message: 'http.readOnly must be true or false, got "no"',
    });
    await early.closed;
    expect(early.received()).toBe('');
    const reused = await listenOn(address.port);
    await new Promise((resolve) => reused.close(resolve));
  });

  it('throws nothing in the process when a client resets while it waits', async () => {
    const address = await holdApiAddress({ host: '127.0.0.1', port: 0 });
    // The held side of the connection, once accepted (it reads from then on).
    const accepted = new Promise<Socket>((resolve) => {
      const onAccept = (message: unknown): void => {
        const { socket } = message as { socket: Socket };
        if (socket.localPort !== address.port) return;
        channels.unsubscribe('net.server.socket', onAccept);
        resolve(socket);
      };
      channels.subscribe('net.server.socket', onAccept);
    });
    const reset = await client(address.port);
    const held = await accepted;
    // An RST, which the held side reads as ECONNRESET: an 'error' no one listened to threw.
    reset.socket.resetAndDestroy();
    await new Promise((resolve) => held.once('close', resolve));
    const { app, url } = await serveApiOn(address, { ns, logger });
    try {
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('refuses a port in use as the API’s listen did, naming the address', async () => {
    const busy = await listenOn(0);
    const { port } = busy.address() as { port: number };
    try {
      await expect(holdApiAddress({ host: '127.0.0.1', port })).rejects.toMatchObject({
        code: 'config_error',
        message: `cannot listen on 127.0.0.1:${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}`,
      });
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});
