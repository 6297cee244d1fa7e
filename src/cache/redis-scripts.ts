/**
 * The Redis tier's two Lua scripts. Each runs atomically in Redis, so any number of workers (connections,
 * processes) can get and set at once and the accounting stays exact: every entry hash has its member in the
 * sorted set, and the `bytes` field of the meta hash is the sum of the entries' sizes.
 *
 * Keys of one namespace `ns` (= `${redis.keyPrefix}cache:${policy}:`):
 * - `ns e:<key>` hash: `a` encoded answer, `f` frequency state, `c` cost of a miss, `s` accounted size,
 *   `t` tick of the last access (breaks ties in priority: least recently used first, as in L1);
 * - `ns z` sorted set: member `<key>`, score = the policy's priority (lowest evicted first);
 * - `ns m` hash: `bytes` in use, `tick` access counter, `clock` GDSF's L, `evictions` count.
 * The set script evicts entries it did not receive in KEYS (their names derive from the sorted set), which is
 * fine on one Redis node; on a cluster the namespace would need a hash tag.
 */
import type { EvictionPolicy } from './policies/index.js';

/** Reads the policy's state and runs its Lua snippet: defines `freq` and `prio`. */
function policyBlock(policy: EvictionPolicy): string {
  return `
    local tick = redis.call('HINCRBY', KEYS[3], 'tick', 1)
    local clock = tonumber(redis.call('HGET', KEYS[3], 'clock') or '0')
    local freq, prio
    ${policy.lua}`;
}

/**
 * get: KEYS entry, zset, meta; ARGV member. Returns nil on a miss, else {answer, cost}; a hit counts
 * as an access (frequency bump, new priority).
 */
export function getScript(policy: EvictionPolicy): string {
  return `
    local e = redis.call('HMGET', KEYS[1], 'a', 'f', 'c', 's')
    if not e[1] then return false end
    local prevFreq = tonumber(e[2])
    local prior = 0
    local cost = tonumber(e[3])
    local size = tonumber(e[4])
    ${policyBlock(policy)}
    redis.call('HSET', KEYS[1], 'f', string.format('%.17g', freq), 't', tick)
    redis.call('ZADD', KEYS[2], string.format('%.17g', prio), ARGV[1])
    return {e[1], e[3]}`;
}

/**
 * set: KEYS entry, zset, meta; ARGV member, answer, cost, size, maxBytes, entry-key prefix, prior lookups.
 * Stores (or replaces, keeping its frequency) the entry, then evicts lowest priorities until the namespace is
 * within maxBytes. Returns the number of entries evicted, or -1 when the entry alone exceeds the budget.
 */
export function setScript(policy: EvictionPolicy): string {
  return `
    local size = tonumber(ARGV[4])
    local maxBytes = tonumber(ARGV[5])
    local prev = redis.call('HMGET', KEYS[1], 'f', 's')
    local prevFreq = tonumber(prev[1])
    local prior = tonumber(ARGV[7])
    if prev[2] then
      redis.call('HINCRBY', KEYS[3], 'bytes', -tonumber(prev[2]))
    end
    if size > maxBytes then
      if prev[2] then
        redis.call('DEL', KEYS[1])
        redis.call('ZREM', KEYS[2], ARGV[1])
      end
      return -1
    end
    local cost = tonumber(ARGV[3])
    ${policyBlock(policy)}
    redis.call('HSET', KEYS[1], 'a', ARGV[2], 'f', string.format('%.17g', freq), 'c', ARGV[3], 's', size, 't', tick)
    redis.call('ZADD', KEYS[2], string.format('%.17g', prio), ARGV[1])
    local bytes = redis.call('HINCRBY', KEYS[3], 'bytes', size)
    local evicted = 0
    while bytes > maxBytes do
      local lowest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
      if not lowest[1] then break end
      -- Among entries tied at the lowest priority (a bounded look), the least recently used goes.
      local victim = lowest[1]
      local tied = redis.call('ZRANGEBYSCORE', KEYS[2], lowest[2], lowest[2], 'LIMIT', 0, 64)
      if #tied > 1 then
        local oldest = math.huge
        for _, member in ipairs(tied) do
          local t = tonumber(redis.call('HGET', ARGV[6] .. member, 't') or '0')
          if t < oldest then
            oldest = t
            victim = member
          end
        end
      end
      local victimKey = ARGV[6] .. victim
      local victimSize = tonumber(redis.call('HGET', victimKey, 's') or '0')
      redis.call('DEL', victimKey)
      redis.call('ZREM', KEYS[2], victim)
      bytes = redis.call('HINCRBY', KEYS[3], 'bytes', -victimSize)
      redis.call('HSET', KEYS[3], 'clock', lowest[2])
      evicted = evicted + 1
    end
    if evicted > 0 then redis.call('HINCRBY', KEYS[3], 'evictions', evicted) end
    return evicted`;
}
