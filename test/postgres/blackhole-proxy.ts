/**
 * A TCP proxy in front of the test PostgreSQL that can black-hole traffic: bytes are swallowed in both
 * directions and no connection is closed, which is what a half-open connection looks like to a client
 * (peer host gone, network partition, a silently dropped NAT entry). It can also be re-pointed, as a
 * virtual IP or a re-pointed proxy moves to a promoted standby (test/postgres/failover.test.ts).
 */
import net from 'node:net';

/** The server's ReadyForQuery message: type 'Z', length 5 (the status byte follows). */
const READY_FOR_QUERY = Buffer.from([0x5a, 0, 0, 0, 5]);

/** A running proxy. */
export interface BlackholeProxy {
  port: number;
  /** While true, existing and new connections pass nothing and never close; false ends any hole. */
  blackhole(on: boolean): void;
  /**
   * Black-holes as `blackhole(true)` from the moment a client sends bytes containing `marker` (that
   * chunk not passed on): the database goes silent at one chosen call, such as the one writing a
   * schedule of that id.
   */
  blackholeWhenSent(marker: string): void;
  /**
   * While true, each new connection passes its startup (handshake, authentication) and then goes
   * silent for good, once the server said it is ready for queries: a connection black-holed right
   * after it opened. Connections open already are left alone.
   */
  blackholeAfterStartup(on: boolean): void;
  /** Sends new connections to `target` and cuts every connection it carries now. */
  switchTo(target: { host: string; port: number }): void;
  close(): Promise<void>;
}

/** Starts a proxy on an ephemeral loopback port forwarding to `target`. */
export async function startBlackholeProxy(initial: { host: string; port: number }): Promise<BlackholeProxy> {
  let target = initial;
  let holing = false;
  let holeMarker: string | null = null;
  let holeAfterStartup = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    const silentOnceReady = holeAfterStartup;
    let silent = false;
    client.on('data', (chunk: Buffer) => {
      if (holeMarker !== null && chunk.includes(holeMarker)) holing = true;
      if (!holing && !silent) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (holing || silent) return;
      client.write(chunk);
      if (silentOnceReady && chunk.includes(READY_FOR_QUERY)) silent = true;
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    blackhole(on) {
      holing = on;
      if (!on) holeMarker = null;
    },
    blackholeWhenSent(marker) {
      holeMarker = marker;
    },
    blackholeAfterStartup(on) {
      holeAfterStartup = on;
    },
    switchTo(next) {
      target = next;
      for (const socket of sockets) socket.destroy();
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
