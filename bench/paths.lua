-- wrk -s bench/paths.lua http://127.0.0.1:PORT -- PATHS.txt
-- GETs the paths of the file in turn (admin session list pages at chosen keyset depths).
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

local paths = {}
local i = 0

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
