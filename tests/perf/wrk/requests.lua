-- wrk script: cycles through a list of requests (method, path, headers, body) and prints a JSON summary.
--
-- Usage: wrk -s requests.lua URL -- REQUESTS_FILE [MAX_REQUESTS_PER_THREAD]
--   REQUESTS_FILE is a Lua chunk returning {{method, path, {header = value, ...}, body_or_nil}, ...}
--   (run.py writes it from catalog.py). With MAX_REQUESTS_PER_THREAD > 0 each thread stops once it
--   has that many responses (used to drive a request count for the RSS measurement); wrk still waits
--   for its -d duration before it exits.
-- The summary is one line on stdout: "WRK_JSON {...}" with counts, errors and latency percentiles (us).

local prepared = {}
local responses = 0
local index = 0
local limit = 0

function init(args)
   local list = dofile(args[1])
   limit = tonumber(args[2] or "0") or 0
   for i, r in ipairs(list) do
      -- wrk.format adds Host and a Content-Length when a body is given ("" gives Content-Length: 0).
      prepared[i] = wrk.format(r[1], r[2], r[3], r[4])
   end
   if limit > 0 then
      -- Defined only when needed: wrk hands every response to Lua when this function exists.
      response = function(status, headers, body)
         responses = responses + 1
         if responses >= limit then
            wrk.thread:stop()
         end
      end
   end
end

function request()
   index = index % #prepared + 1
   return prepared[index]
end

function done(summary, latency, requests)
   local e = summary.errors
   local parts = {
      string.format('"requests":%d', summary.requests),
      string.format('"duration_us":%d', summary.duration),
      string.format('"bytes":%d', summary.bytes),
      string.format('"errors_connect":%d', e.connect),
      string.format('"errors_read":%d', e.read),
      string.format('"errors_write":%d', e.write),
      string.format('"errors_status":%d', e.status),
      string.format('"errors_timeout":%d', e.timeout),
      string.format('"latency_mean_us":%.1f', latency.mean),
      string.format('"latency_max_us":%d', latency.max),
   }
   for _, p in ipairs({50, 90, 99, 99.9}) do
      parts[#parts + 1] = string.format('"p%s_us":%d', tostring(p), latency:percentile(p))
   end
   io.write("WRK_JSON {" .. table.concat(parts, ",") .. "}\n")
end
