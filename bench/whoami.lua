-- wrk -s bench/whoami.lua http://127.0.0.1:PORT -- TOKENS.tsv token|cookie [PATH]
-- Rotates over every session of the tokens file (written by `bench_tool seed`), each wrk thread
-- starting at its own offset; sends `X-Session-Token: <token>` or
-- `Cookie: ory_kratos_session=<signed cookie>`. PATH defaults to /sessions/whoami.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

local creds = {}
local header, path
local i = 0

function init(args)
  local mode = args[2] or "token"
  path = args[3] or "/sessions/whoami"
  header = (mode == "cookie") and "Cookie" or "X-Session-Token"
  for line in io.lines(args[1]) do
    local token, cookie = line:match("^([^\t]+)\t([^\t]+)")
    if token then
      creds[#creds + 1] = (mode == "cookie") and ("ory_kratos_session=" .. cookie) or token
    end
  end
  i = ((tid or 1) - 1) * 997
end

function request()
  i = i % #creds + 1
  return wrk.format("GET", path, { [header] = creds[i] })
end
