-- wrk script: entitlement questions for random accounts and products, with a bearer
-- token; `delay` spaces each connection's requests so that all of them together ask
-- about RATE questions per second (0: as fast as they can).
local token = os.getenv("LEDGER_TOKEN")
local accounts = tonumber(os.getenv("LEDGER_ACCOUNTS") or "20000")
local rate = tonumber(os.getenv("LEDGER_RATE") or "0")
local connections = tonumber(os.getenv("LEDGER_CONNECTIONS") or "20")
local fixed_path = os.getenv("LEDGER_PATH")  -- set: ask this path every time (a baseline)
local products = {"endpoint-protection", "data-loss-prevention", "web-gateway", "backup-exec",
                  "email-security", "server-protection"}

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function request()
  if fixed_path then return wrk.format("GET", fixed_path) end
  local path = string.format("/v1/entitlement?account=BENCH-%d&product=%s&version=14.%d&severity=%d&at=2025-%02d-15",
    math.random(0, accounts - 1), products[math.random(1, #products)], math.random(0, 3), math.random(1, 4),
    math.random(1, 12))
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end

function delay()
  if rate <= 0 then return 0 end
  -- ms between one connection's requests, jittered so connections do not march in step
  local mean = connections * 1000 / rate * 0.92  -- the answer's own time is part of the gap
  return math.random(0, math.floor(2 * mean))
end

local statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  io.write(string.format("requests %d in %.1f s = %.0f/s; errors: connect %d read %d write %d status %d timeout %d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout))
  io.write(string.format("latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000))
end
