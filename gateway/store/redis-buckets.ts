/**
 * Token buckets in Redis, for rate limits shared by gateway replicas (`rateLimits.shared`): one
 * hash per bucket (tokens, when they were counted), taken from and given back to by one Lua script
 * each time, so two replicas taking at once cannot both get the last token. The clock is the Redis
 * server's (TIME), not the replicas': their clocks may disagree. A bucket expires once it would be
 * full again, so idle principals cost Redis nothing.
 */
import type { RedisStore } from './shared-store';

/** KEYS[1] the bucket; ARGV: tokens per ms, burst, "1" to give a token back. Returns ms to wait (0: taken). */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local h = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(h[1]) or burst
local at = tonumber(h[2]) or now
if now > at then tokens = math.min(burst, tokens + (now - at) * rate) end
local wait = 0
if ARGV[3] == '1' then
  tokens = math.min(burst, tokens + 1)
elseif tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate) + 1000)
return wait
`;

export interface Limit {
  readonly ratePerMs: number;
  readonly burst: number;
}

export class RedisBuckets {
  constructor(private readonly store: RedisStore) {}

  /** 0 when a token was taken, else the ms until there is one (nothing taken). Throws STORE_UNAVAILABLE. */
  async take(key: string, limit: Limit): Promise<number> {
    return Number(await this.run(key, limit, false));
  }

  async giveBack(key: string, limit: Limit): Promise<void> {
    await this.run(key, limit, true);
  }

  private run(key: string, limit: Limit, giveBack: boolean): Promise<unknown> {
    return this.store.evalScript(TAKE, [`ratelimit:${key}`], [String(limit.ratePerMs), String(limit.burst), giveBack ? '1' : '0']);
  }
}
