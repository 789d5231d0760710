-- wrk script for the ledger benchmark (bench/run.py writes the accounts file and passes the token).
--
--   wrk -t2 -c16 -d15s -s bench/wrk/ledger.lua http://127.0.0.1:PORT -- MODE TOKEN ACCOUNTS RUN_ID
--
-- MODE: "spread"       transfers of 1.00 between random pairs of accounts,
--       "spread_nokey" the same without an Idempotency-Key,
--       "hot"          transfers of 1.00 from the first account to random others,
--       "hot_deposit"  deposits of 1.00 into the first account,
--       "balance"      GET .../balance/ of random accounts,
--       "history"      GET the first page of .../transactions/ of the first account.
-- Every POST but spread_nokey's carries a fresh Idempotency-Key, as a careful client sends one.
-- done() prints one line "BENCH_JSON {...}" that bench/run.py parses.

local threads = {}

function setup(thread)
  thread:set("tag", tostring(#threads + 1))
  table.insert(threads, thread)
end

local mode, headers, accounts, run_id
local counter = 0
local MODES = {
  spread = true, spread_nokey = true, hot = true, hot_deposit = true, balance = true, history = true,
}

function init(args)
  mode, run_id = args[1], args[4]
  if not MODES[mode] then error("unknown mode " .. tostring(mode)) end
  headers = {
    ["Authorization"] = "Bearer " .. args[2],
    ["Accept"] = "application/json",
    ["Content-Type"] = "application/json",
  }
  accounts = {}
  for line in io.lines(args[3]) do
    if #line > 0 then accounts[#accounts + 1] = line end
  end
  math.randomseed(os.time() * 100 + tonumber(tag))
  non2xx = 0
end

-- A key unique across runs (run_id), wrk threads (tag) and requests (counter).
local function next_key()
  counter = counter + 1
  return run_id .. "-" .. tag .. "-" .. counter
end

local function transfer(from, to, key)
  headers["Idempotency-Key"] = key
  local body = '{"from_account":"' .. from .. '","to_account":"' .. to .. '","amount":"1.00"}'
  return wrk.format("POST", "/api/v1/transfers/", headers, body)
end

local function deposit(number)
  headers["Idempotency-Key"] = next_key()
  return wrk.format("POST", "/api/v1/accounts/" .. number .. "/deposit/", headers, '{"amount":"1.00"}')
end

local function other_than(index)
  local pick = math.random(#accounts - 1)
  if pick >= index then pick = pick + 1 end
  return pick
end

function request()
  if mode == "balance" then
    headers["Idempotency-Key"] = nil
    return wrk.format("GET", "/api/v1/accounts/" .. accounts[math.random(#accounts)] .. "/balance/", headers)
  elseif mode == "history" then
    return wrk.format("GET", "/api/v1/accounts/" .. accounts[1] .. "/transactions/", headers)
  elseif mode == "hot" then
    return transfer(accounts[1], accounts[other_than(1)], next_key())
  elseif mode == "hot_deposit" then
    return deposit(accounts[1])
  end
  local from = math.random(#accounts)
  local key = nil
  if mode ~= "spread_nokey" then key = next_key() end
  return transfer(accounts[from], accounts[other_than(from)], key)
end

function response(status, resp_headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + (thread:get("non2xx") or 0) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"mean_us":%.1f,"max_us":%d,"non2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max, bad,
    e.connect + e.read + e.write + e.timeout))
end
