-- wrk script for bench/load.sh: one kind of request per wrk process, so that wrk's own latency
-- histogram gives the p50/p99 of that kind alone. Arguments after `--`:
--   KIND NONCE [PATH...]
--   KIND      hits    GET the PATHs in turn (hot URLs, cached after priming)
--             misses  GET /api/v1/work-orders/<n>?miss=NONCE-<thread>-<counter>: a URL never
--                     requested before, so a cache miss that goes to the origin
--             fields  GET the PATHs in turn (list URLs with ?fields= selections)
--             batch   POST /api/v1/batch naming the PATHs as items
--   NONCE     makes the miss URLs of one run unique among all runs against the same proxy
-- Environment: LOAD_DELAY_MS, pause per connection before each request (unset or 0: closed
-- loop, as fast as answers come; > 0: a steady rate of about connections * 1000 / (LOAD_DELAY_MS
-- + latency)). An environment variable because wrk decides whether delay() exists before init().

local kind, nonce
local delay_ms = tonumber(os.getenv("LOAD_DELAY_MS") or "0") or 0
local paths = {}
local prepared = {}
local next_index = 1
local counter = 0
local thread_id = 0
local work_orders = 240 -- demo/origin/data.mjs creates work orders 1..240

local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
end

local function batch_body(items)
  local parts = {}
  for i, p in ipairs(items) do
    parts[#parts + 1] = string.format('{"id":"i%d","method":"GET","path":"%s"}', i, p)
  end
  return '{"requests":[' .. table.concat(parts, ",") .. ']}'
end

function init(args)
  kind, nonce = args[1], args[2] or "0"
  for i = 3, #args do paths[#paths + 1] = args[i] end
  thread_id = tonumber(wrk.thread:get("thread_id")) or 0
  if kind == "hits" or kind == "fields" then
    assert(#paths > 0, kind .. " needs at least one path")
    for i, p in ipairs(paths) do prepared[i] = wrk.format("GET", p) end
  elseif kind == "batch" then
    assert(#paths > 0, "batch needs at least one item path")
    prepared[1] = wrk.format("POST", "/api/v1/batch",
      { ["Content-Type"] = "application/json" }, batch_body(paths))
  elseif kind ~= "misses" then
    error("unknown kind '" .. tostring(kind) .. "'")
  end
end

function request()
  if kind == "misses" then
    counter = counter + 1
    return wrk.format("GET", string.format("/api/v1/work-orders/%d?miss=%s-%d-%d",
      1 + counter % work_orders, nonce, thread_id, counter))
  end
  local r = prepared[next_index]
  next_index = next_index % #prepared + 1
  return r
end

if delay_ms > 0 then
  function delay() return delay_ms end
end
