-- wrk -s bench/login.lua http://127.0.0.1:PORT -- FLOWS.txt USERS PASSWORD THREADS
-- Native password logins: each request submits a fresh native login flow (created beforehand by
-- `bench_tool flows`, one a line) for a random seeded user `bench-<n>@example.test`, n < USERS.
-- Each wrk thread spends its own slice of the flows.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

local flows = {}
local users, password
local i, last = 0, 0

function init(args)
  local all = {}
  for line in io.lines(args[1]) do
    if #line > 0 then all[#all + 1] = line end
  end
  users = tonumber(args[2])
  password = args[3]
  local threads = tonumber(args[4] or "1")
  local per = math.floor(#all / threads)
  local first = ((tid or 1) - 1) * per
  for k = 1, per do flows[k] = all[first + k] end
  math.randomseed(os.time() + (tid or 1))
end

function request()
  i = i % #flows + 1
  local body = string.format(
    '{"method":"password","identifier":"bench-%d@example.test","password":"%s"}',
    math.random(0, users - 1), password)
  return wrk.format("POST", "/self-service/login?flow=" .. flows[i],
    { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }, body)
end
