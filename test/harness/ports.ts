import { createServer } from 'node:net';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the OS picked it). Another process
 * could take it before the caller binds; callers that spawn servers retry on EADDRINUSE.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('freePort: the OS returned no port'));
      });
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port right now. */
export function isPortListening(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => { resolve(error.code === 'EADDRINUSE'); });
    server.listen(port, host, () => { server.close(() => { resolve(false); }); });
  });
}
