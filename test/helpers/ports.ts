/** A free loopback port, for tests and the bench alike: servers that take only a fixed PORT need one. */
import { createServer } from 'node:net';

/** A loopback port that was free a moment ago (the OS picked it, then it was released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
