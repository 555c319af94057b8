-- wrk script for run.sh: POSTs the file named by $WRK_BODY_FILE as JSON, or
-- GETs when it is empty or "-".
local path = os.getenv("WRK_BODY_FILE")
if path ~= nil and path ~= "" and path ~= "-" then
  local f = assert(io.open(path, "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/json"
end

done = function(summary, latency, requests)
  io.write(string.format(
    "summary: req/s=%.0f p50_ms=%.3f p99_ms=%.3f requests=%d non_2xx=%d socket_errors=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
