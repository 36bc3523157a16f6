/**
 * Leasing: the picked backend gives the call the upstream session it goes on (one of its pool's
 * for a pooled 2025 server, else its own), held until the answer came.
 */
import { required, type Stage } from '../context';

export const leaseStage: Stage = async (call, next) => {
  const lease = await required(call.backend, 'the backend').lease();
  call.connection = lease.conn;
  try {
    return await next(call);
  } finally {
    lease.release();
  }
};
