-- wrk script for the cold-names benchmark of tests/bench/http.sh.
--
--   wrk -t1 -c50 -d10s -s cold-names.lua http://127.0.0.1:PORT -- COUNT OFFSET TOKEN
--
-- Every request asks for the challenge TOKEN of a different name, n<i>.bench.test with
-- i = OFFSET, OFFSET+1, ... (mod COUNT), on a fresh connection (Connection: close), so
-- the relay has to look up the SRV record and the target's address of each one.
-- Use one wrk thread (-t1): each thread would start at the same OFFSET.

local count, i, path

function init(args)
   count = tonumber(args[1]) or error("cold-names.lua: COUNT missing")
   i = tonumber(args[2]) or 0
   path = "/.well-known/acme-challenge/" .. (args[3] or error("cold-names.lua: TOKEN missing"))
end

function request()
   local name = "n" .. (i % count) .. ".bench.test"
   i = i + 1
   return wrk.format("GET", path, { ["Host"] = name, ["Connection"] = "close" })
end
