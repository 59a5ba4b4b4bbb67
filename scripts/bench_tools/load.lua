-- wrk script for scripts/bench. Configured by the environment (set by bench.py):
--   BENCH_AUTH      the Authorization header value (empty: none, for the reference endpoint)
--   BENCH_EXPECT    a string a successful response body contains (e.g. "TransactionAdded")
--   BENCH_BODY      static mode: the request body, the same for every request
--   BENCH_MODE=bodies  the body of each request is a random line of the file BENCH_BODIES
--                   (e.g. ledger pages over random customers and cursors)
--   BENCH_MODE=add  addTransaction mode: the body is BENCH_PART1 .. bill number .. BENCH_PART2
--                   .. mobile .. BENCH_PART3, with a unique bill number per request and the
--                   mobile, by BENCH_MIX: "new" a fresh one every time (6 <run> <thread> <counter>),
--                   "returning" one of the BENCH_CUSTOMERS registered customers (7000000000 + i)
--                   drawn at random, "same" BENCH_MOBILE for every bill.
--   BENCH_TAG, BENCH_RUN (two digits)  keep bill numbers and fresh mobiles unique across runs.
-- done() prints one "BENCH_RESULT k=v ..." line for bench.py to parse.

local mode = os.getenv("BENCH_MODE") or "static"
local expect = os.getenv("BENCH_EXPECT") or ""

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("BENCH_AUTH") or ""
if auth ~= "" then
   wrk.headers["Authorization"] = auth
end
wrk.body = os.getenv("BENCH_BODY")

local threads = {}

function setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

function init(args)
   math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
end

ok = 0
bad = 0
first_bad = ""

if mode == "bodies" then
   local bodies = {}
   for line in io.lines(os.getenv("BENCH_BODIES")) do
      if line ~= "" then
         table.insert(bodies, line)
      end
   end

   function request()
      return wrk.format(nil, nil, nil, bodies[math.random(#bodies)])
   end
end

if mode == "add" then
   local part1 = os.getenv("BENCH_PART1")
   local part2 = os.getenv("BENCH_PART2")
   local part3 = os.getenv("BENCH_PART3")
   local tag = os.getenv("BENCH_TAG")
   local run = os.getenv("BENCH_RUN")
   local mix = os.getenv("BENCH_MIX")
   local same = os.getenv("BENCH_MOBILE")
   local customers = tonumber(os.getenv("BENCH_CUSTOMERS") or "1")
   local counter = 0

   function request()
      counter = counter + 1
      local bill = tag .. run .. "-" .. tid .. "-" .. counter
      local mobile
      if mix == "new" then
         mobile = "6" .. run .. tid .. string.format("%05d", counter)
      elseif mix == "same" then
         mobile = same
      else
         mobile = "7" .. string.format("%09d", math.random(0, customers - 1))
      end
      return wrk.format(nil, nil, nil, part1 .. bill .. part2 .. mobile .. part3)
   end
end

function response(status, headers, body)
   if status == 200 and string.find(body, expect, 1, true) then
      ok = ok + 1
   else
      bad = bad + 1
      if first_bad == "" then
         first_bad = status .. " " .. string.sub(body or "", 1, 400)
      end
   end
end

function done(summary, latency, requests)
   local total_ok, total_bad, sample = 0, 0, ""
   for _, thread in ipairs(threads) do
      total_ok = total_ok + (thread:get("ok") or 0)
      total_bad = total_bad + (thread:get("bad") or 0)
      local b = thread:get("first_bad") or ""
      if sample == "" and b ~= "" then sample = b end
   end
   local e = summary.errors
   io.write(string.format(
      "BENCH_RESULT requests=%d duration_us=%d ok=%d bad=%d p50_us=%d p90_us=%d p99_us=%d mean_us=%.0f max_us=%d " ..
      "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
      summary.requests, summary.duration, total_ok, total_bad,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max,
      e.connect, e.read, e.write, e.status, e.timeout))
   if sample ~= "" then
      io.write("BENCH_FIRST_BAD " .. string.gsub(sample, "\n", " ") .. "\n")
   end
end
