-- wrk script: dereference random generated hubs. BENCH_MODE=doc: GET /doc/hub/gen-N.ttl;
-- BENCH_MODE=describe: GET ?query=DESCRIBE <…/id/hub/gen-N> (Oxigraph's server).
local mode = os.getenv("BENCH_MODE") or "doc"
local clusters = tonumber(os.getenv("BENCH_CLUSTERS") or "700")
init = function(args) math.randomseed(os.time() + math.floor(os.clock() * 1000000)) end
local function encode(s)
  return (s:gsub("[^%w%-%._~]", function(ch) return string.format("%%%02X", string.byte(ch)) end))
end
request = function()
  local c = math.random(0, clusters - 1)
  if mode == "doc" then
    return wrk.format("GET", "/doc/hub/gen-" .. c .. ".ttl", {["Accept"] = "text/turtle"})
  end
  local q = "DESCRIBE <https://w3id.org/heritage-hubs/id/hub/gen-" .. c .. ">"
  return wrk.format("GET", wrk.path .. "?query=" .. encode(q), {["Accept"] = "text/turtle"})
end
