-- wrk script: each write carries 16 pipelined requests, as TechEmpower runs
-- the plaintext test.
local depth = 16
init = function(args)
  local r = {}
  for i = 1, depth do
    r[i] = wrk.format(nil, "/plaintext")
  end
  req = table.concat(r)
end
request = function()
  return req
end
