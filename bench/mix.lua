-- wrk script: one fixed query (BENCH_QUERY) or a researcher's mix over the
-- generated data (BENCH_CLUSTERS hubs), as GET ?query=… with BENCH_ACCEPT.
local fixed = os.getenv("BENCH_QUERY")
local clusters = tonumber(os.getenv("BENCH_CLUSTERS") or "700")
local accept = os.getenv("BENCH_ACCEPT") or "application/sparql-results+json"

local P = "PREFIX hh: <https://w3id.org/heritage-hubs/ontology/> " ..
          "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
local ID = "https://w3id.org/heritage-hubs/id/"
local words = {"memory", "river", "factory", "courtyard", "archive", "voices", "workers", "city", "harbour", "market"}

local templates = {
  -- a lookup by IRI: everything about one hub
  function(c) return P .. "SELECT ?p ?o WHERE { <" .. ID .. "hub/gen-" .. c .. "> ?p ?o }" end,
  -- a label filter
  function(c) return P .. "SELECT ?s ?l WHERE { ?s a hh:Hub ; rdfs:label ?l FILTER(CONTAINS(?l, \"" ..
                       words[(c % #words) + 1] .. "\")) } LIMIT 20" end,
  -- a join across hubs, institutions and assets
  function(c) return P .. "SELECT ?inst ?asset ?label WHERE { <" .. ID .. "hub/gen-" .. c .. "> hh:hasPartner ?inst . " ..
                       "?asset hh:keptBy ?inst ; rdfs:label ?label FILTER(lang(?label) = \"en\") } LIMIT 100" end,
  -- GROUP BY counts
  function(c) return P .. "SELECT ?kind (COUNT(?inst) AS ?n) WHERE { <" .. ID .. "hub/gen-" .. c .. "> hh:hasPartner ?inst . " ..
                       "?inst hh:institutionKind ?kind } GROUP BY ?kind ORDER BY DESC(?n)" end,
  -- a DESCRIBE
  function(c) return "DESCRIBE <" .. ID .. "asset/gen-" .. c .. "-" .. (c % 60) .. ">" end,
  -- an OPTIONAL-heavy page of assets
  function(c) return P .. "SELECT ?a ?label ?desc ?inv ?keeper ?place WHERE { ?a a hh:TangibleAsset ; rdfs:label ?label . " ..
                       "OPTIONAL { ?a hh:description ?desc } OPTIONAL { ?a hh:inventoryNumber ?inv } " ..
                       "OPTIONAL { ?a hh:keptBy ?keeper } OPTIONAL { ?a hh:locatedIn ?place } } LIMIT 50 OFFSET " .. ((c % 20) * 50) end,
}

local function encode(s)
  return (s:gsub("[^%w%-%._~]", function(ch) return string.format("%%%02X", string.byte(ch)) end))
end

-- A new random sequence each run and thread, so a warm-up run does not
-- pre-fill a result cache with exactly the queries that will be measured.
local counter = 0
init = function(args)
  math.randomseed(os.time() * 1000 + math.floor(os.clock() * 1000000) + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0) % 100000)
end
request = function()
  local q
  if fixed then
    q = fixed
  else
    counter = counter + 1
    local c = math.random(0, clusters - 1)
    q = templates[(counter % #templates) + 1](c)
  end
  return wrk.format("GET", wrk.path .. "?query=" .. encode(q), {["Accept"] = accept})
end
