-- wrk script for bench/server_bench.sh: POST one AdmissionReview (file in $TOLLGATE_BENCH_BODY).
-- SPDX-License-Identifier: Apache-2.0
local file = assert(io.open(os.getenv("TOLLGATE_BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"

local bad = 0
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("non-200 answers: %d\n", summary.errors.status))
end
