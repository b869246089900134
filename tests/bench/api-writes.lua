-- wrk script for the API-writes benchmark of tests/bench/store.sh.
--
--   wrk -t1 -c16 -d10s -s api-writes.lua http://127.0.0.1:API_PORT -- TOKEN PREFIX
--
-- Every request adds one new TXT record, w<PREFIX>-<i>.bench.test, through
-- POST /v1/records with the admin TOKEN; the API answers 201 only once the write is
-- durable. Use one wrk thread (-t1): each thread would count from the same i.

local token, prefix
local i = 0

function init(args)
   token = args[1] or error("api-writes.lua: TOKEN missing")
   prefix = args[2] or error("api-writes.lua: PREFIX missing")
end

function request()
   i = i + 1
   local body = string.format(
      '{"owner":"w%s-%d.bench.test","ttl":60,"type":"TXT","value":"acme-srv benchmark %d"}',
      prefix, i, i)
   return wrk.format("POST", "/v1/records", {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
   }, body)
end
