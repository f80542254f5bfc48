-- wrk script for the benchmarks: unique, realistic SPP bodies (an order.created with the
-- bench token). Arguments after `--`: a run name (ids differ between runs), and the length
-- of the padding in form_data (default 700: bodies of about 1.5 KiB).
local counter = 0
local threadid = 0
function setup(thread) threadid = threadid + 1; thread:set("tid", threadid) end
function init(args) counter = 0; run = args[1] or "m"; pad = string.rep("x", tonumber(args[2] or "700")) end
function request()
  counter = counter + 1
  local id = run .. tostring(tid) .. "-" .. tostring(counter)
  local body = '{"event":"order.created","created":1558608668,"token":"benchbenchbenchbenchbenchbench32","data":{"id":"B' .. id ..
    '","date_added":"2010-12-30T15:00:00+0000","date_completed":null,"status":"Pending","service":"Logo design",' ..
    '"client":{"id":1042,"email":"jane@example.com","name_f":"Jane","name_l":"Doe","company":"Acme"},' ..
    '"form_data":{"Brand name":"Acme","Notes":"' .. pad .. '"},"options":{"Size":"Large"},"tags":["vip"],"employees":[],"note":"' .. id .. '"}}'
  return wrk.format("POST", wrk.path, {["Content-Type"] = "application/json"}, body)
end
