/**
 * Timeouts: how long the upstream may take on a forwarded request (`servers.X.timeouts`: the
 * tool's own, else defaultMs, else the server's requestTimeoutMs). The upstream session enforces it
 * (connection.ts: progress restarts the clock, the server is sent notifications/cancelled, the
 * health tracker hears of the silence); this stage chooses the limit and, for a tool call, makes
 * the timeout error say which tool and which setting.
 */
import { FleetError } from '../../protocol/errors';
import { required, type Stage } from '../context';

export const timeoutStage: Stage = async (call, next) => {
  const group = required(call.group, 'the server');
  const { timeouts } = group.config;
  const tool = call.request.method === 'tools/call' ? String(call.params.name) : undefined;
  const own = tool === undefined ? undefined : timeouts.tools[tool];
  const limit = own ?? timeouts.defaultMs;
  if (limit === undefined) return next(call);
  call.timeoutMs = limit;
  try {
    return await next(call);
  } catch (err) {
    if (!(err instanceof FleetError) || err.code !== 'UPSTREAM_TIMEOUT' || tool === undefined) throw err;
    const setting = `servers.${group.name}.timeouts.${own === undefined ? 'defaultMs' : `tools.${tool}`}`;
    throw new FleetError(
      'UPSTREAM_TIMEOUT',
      `tool "${tool}" of server "${group.name}" did not finish within ${limit} ms (${setting}); the gateway cancelled it upstream`,
      {
        data: { ...err.data, server: group.name, tool, timeoutMs: limit },
        cause: err,
      },
    );
  }
};
