// The Lua script that redis_replay_store::record() runs (EVALSHA, EVAL on NOSCRIPT): one call per
// message. Internal to dkimkit_redis.
#pragma once

#include <dkimkit/replay.hpp>
#include <string_view>

namespace dkimkit::detail {

// At most this many slices are summed for one signature (x= windows are cut to it, as
// replay_message_of() cuts window_seconds).
inline constexpr unsigned kMaxReplaySlices = max_replay_slices;

inline constexpr std::string_view kRecordScript = R"lua(
-- dkimkit replay counting (dkimkit/redis_replay.hpp): adds one message to the counters of each
-- of its signatures and returns their counts, atomically.
-- Key layout under PREFIX (ARGV[1]); K a replay key, T a slice number (floor(Unix s / slice)):
--   PREFIX "s:" K        hash: d, s, first (Unix s), last, flagged (0/1), window (s), slice
--                        (s: the slice length T counts in), and "m:" T -> messages seen in
--                        slice T; window and slice make the hash readable without the
--                        settings that wrote it (list_replay_signatures)
--   PREFIX "n:" K ":" T  HyperLogLog of the client networks (/24, /48) seen in slice T
--   PREFIX "r:" K ":" T  HyperLogLog of the recipient hashes (HMAC, never addresses) in slice T
--   PREFIX "key"         the fleet's recipient-hash key (written by the hosts, not here)
--   PREFIX "host:" NAME  hash: counted, uncounted, suspected (incremented here)
-- A signature's window W (the base window, or longer for x=) covers the slices T-ceil(W/slice)+1
-- .. T; only slices with a "m:" field are read. Every key touched expires W + slice seconds after
-- its last message; "m:" fields of slices out of the window are deleted. Keys are built here from
-- PREFIX: one Redis server (or replica set), not Redis Cluster.
-- ARGV: PREFIX, now, slice, base window, network ("": not counted), the limits on networks,
--   messages and recipients (0: none), host name, host key TTL, uncounted messages to add,
--   S (signatures), R (recipient hashes), then S x (K, d, s, window, trusted 0/1), then R hashes.
-- Returns S x (messages, networks, recipients, first seen, flagged 0/1), flat.
local prefix = ARGV[1]
local now, slice, base = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local network = ARGV[5]
local lim_n, lim_m, lim_r = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local host, host_ttl, uncounted = ARGV[9], tonumber(ARGV[10]), tonumber(ARGV[11])
local nsig, nrcpt = tonumber(ARGV[12]), tonumber(ARGV[13])
local rcpt_at = 14 + 5 * nsig
local t = math.floor(now / slice)
local out, suspected = {}, 0
for i = 0, nsig - 1 do
  local a = 14 + 5 * i
  local k, trusted = ARGV[a], ARGV[a + 4] == '1'
  local w = math.max(tonumber(ARGV[a + 3]), base)
  local slices = math.ceil(w / slice)
  local ttl = w + slice
  local s = prefix .. 's:' .. k
  local nk, rk = prefix .. 'n:' .. k .. ':', prefix .. 'r:' .. k .. ':'
  redis.call('HSETNX', s, 'first', now)
  redis.call('HSET', s, 'd', ARGV[a + 1], 's', ARGV[a + 2], 'last', now, 'window', w, 'slice',
             slice)
  redis.call('HINCRBY', s, 'm:' .. t, 1)
  if network ~= '' then
    redis.call('PFADD', nk .. t, network)
    redis.call('EXPIRE', nk .. t, ttl)
  end
  if nrcpt > 0 then
    for from = rcpt_at, rcpt_at + nrcpt - 1, 500 do
      redis.call('PFADD', rk .. t, unpack(ARGV, from, math.min(from + 499, rcpt_at + nrcpt - 1)))
    end
    redis.call('EXPIRE', rk .. t, ttl)
  end
  local messages, stale, nkeys, rkeys = 0, {}, {}, {}
  local fields = redis.call('HGETALL', s)
  for j = 1, #fields, 2 do
    local f = fields[j]
    if string.sub(f, 1, 2) == 'm:' then
      local ft = tonumber(string.sub(f, 3))
      if ft == nil or ft <= t - slices then
        stale[#stale + 1] = f
      elseif ft <= t then
        messages = messages + tonumber(fields[j + 1])
        nkeys[#nkeys + 1] = nk .. ft
        rkeys[#rkeys + 1] = rk .. ft
      end
    end
  end
  if #stale > 0 then redis.call('HDEL', s, unpack(stale)) end
  local networks = redis.call('PFCOUNT', unpack(nkeys))
  local recipients = redis.call('PFCOUNT', unpack(rkeys))
  local first = tonumber(redis.call('HGET', s, 'first'))
  local flagged = 0
  if not trusted and ((lim_n > 0 and networks > lim_n) or (lim_m > 0 and messages > lim_m) or
                      (lim_r > 0 and recipients > lim_r)) then
    flagged = 1
    suspected = suspected + 1
  end
  redis.call('HSET', s, 'flagged', flagged)
  redis.call('EXPIRE', s, ttl)
  out[#out + 1] = messages
  out[#out + 1] = networks
  out[#out + 1] = recipients
  out[#out + 1] = first
  out[#out + 1] = flagged
end
local h = prefix .. 'host:' .. host
redis.call('HINCRBY', h, 'counted', 1)
redis.call('HINCRBY', h, 'uncounted', uncounted)
redis.call('HINCRBY', h, 'suspected', suspected)
redis.call('EXPIRE', h, host_ttl)
return out
)lua";

}  // namespace dkimkit::detail
