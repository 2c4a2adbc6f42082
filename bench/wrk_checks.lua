-- wrk script for bench/http.py: POST /v1/checks cycling through request bodies read from
-- $SIMTARU_BODIES/0.json .. N-1.json, with the key in $SIMTARU_KEY; prints one RESULT line.
local folder, count = os.getenv("SIMTARU_BODIES"), tonumber(os.getenv("SIMTARU_BODY_COUNT"))
local bodies = {}
for i = 0, count - 1 do
  local f = io.open(folder .. "/" .. i .. ".json", "rb")
  bodies[#bodies + 1] = f:read("*a")
  f:close()
end
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = os.getenv("SIMTARU_KEY")
request = function()
  n = n + 1
  return wrk.format(nil, "/v1/checks", nil, bodies[(n % #bodies) + 1])
end
done = function(summary, latency, _requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %f %f %f %d\n", summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    e.status + e.connect + e.read + e.write + e.timeout))
end
