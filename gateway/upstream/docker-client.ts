/**
 * The Docker Engine client, loaded when first asked for: dockerode brings docker-modem, ssh2, and
 * grpc-js with protobufjs for BuildKit (230 files, 5.5 MB of heap at idle), which a gateway
 * without docker servers, container pools or Docker-label discovery never needs. Servers added at run time (admin API, reload) ask
 * for it the same way, so nothing depends on it being there at startup.
 */
import type Docker from 'dockerode';

/** A client of the engine at `socketPath`; the first call loads dockerode. */
export function dockerClient(socketPath: string): Docker {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Dockerode = require('dockerode') as typeof Docker;
  return new Dockerode({ socketPath });
}
