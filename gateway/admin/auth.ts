/** The admin API's bearer-token check, in constant time so response timing does not leak the token. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { FleetError } from '../protocol/errors';

/** Undefined when `authorization` carries the token; else the 401 to answer with. */
export function checkBearer(authorization: string | undefined, token: string): FleetError | undefined {
  const given = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim() ?? '';
  // hashing first gives equal lengths, which timingSafeEqual needs, without revealing the token's length
  if (timingSafeEqual(digest(given), digest(token))) return undefined;
  return new FleetError(
    'UNAUTHORIZED',
    authorization ? 'the bearer token is wrong; send the admin.token of the gateway config' : 'send Authorization: Bearer <admin.token of the gateway config>',
  );
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
