-- Argo CD health check for sluice.dev CanaryRollout (docs/gitops.md says how to install it).
-- Reads the global `obj`, returns `hs` = {status, message}. Uses only Lua's base and table
-- libraries: Argo CD opens no string or math library for scripts set in argocd-cm. No phase
-- maps to Unknown: an unrecognised phase is judged from the conditions.
local hs = {}

local function condition(conditions, kind)
  for _, c in ipairs(conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function isTrue(c)
  return c ~= nil and c.status == "True"
end

-- The non-empty strings among a, b, c joined by ": ".
local function join(a, b, c)
  local parts = {}
  for _, p in ipairs({a or "", b or "", c or ""}) do
    if p ~= "" then
      table.insert(parts, p)
    end
  end
  return table.concat(parts, ": ")
end

local generation = obj.metadata.generation
local status = obj.status
if status == nil or status.observedGeneration == nil or
    (generation ~= nil and generation > status.observedGeneration) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation or "")
  return hs
end

local conditions = status.conditions or {}
local phase = status.phase or ""
local ready = condition(conditions, "Ready")
local degraded = condition(conditions, "Degraded")
local stalled = condition(conditions, "Stalled")
local readyMessage = ready ~= nil and ready.message or ""

-- Failed, a spec the operator rejects (InvalidSpec), or anything the operator calls stalled.
if phase == "Failed" or (ready ~= nil and ready.status == "False" and
    (ready.reason == "InvalidSpec" or ready.reason == "Conflicted")) then
  hs.status = "Degraded"
  hs.message = join(phase ~= "" and phase or "Failed", ready ~= nil and ready.reason or "",
                    readyMessage ~= "" and readyMessage or status.message)
  return hs
end
if phase == "RolledBack" then
  hs.status = "Degraded"
  hs.message = join("RolledBack", degraded ~= nil and degraded.reason or "", status.message)
  return hs
end
if isTrue(stalled) then
  hs.status = "Degraded"
  hs.message = join(phase, stalled.reason, stalled.message)
  return hs
end
-- A region rolled back while the others continue (or finished).
if isTrue(degraded) then
  hs.status = "Degraded"
  hs.message = join(phase, degraded.reason, degraded.message)
  return hs
end

if phase == "Succeeded" then
  hs.status = "Healthy"
  hs.message = join("Succeeded", status.message)
  return hs
end
if phase == "Paused" then
  hs.status = "Suspended"
  hs.message = join("Paused", status.message)
  return hs
end

local steps = 6 -- the default steps 5, 10, 25, 50, 75, 100
if obj.spec ~= nil and obj.spec.steps ~= nil and #obj.spec.steps > 0 then
  steps = #obj.spec.steps
end
if phase == "Pending" or phase == "Progressing" or phase == "Promoting" then
  hs.status = "Progressing"
  hs.message = join(phase .. ", step " .. tostring((status.currentStep or 0) + 1) .. "/" ..
                    tostring(steps) .. ", canary " .. tostring(status.canaryWeight or 0) .. "%",
                    status.message)
  return hs
end

-- A phase this script does not know: the conditions decide, never Unknown.
if isTrue(ready) then
  hs.status = "Healthy"
else
  hs.status = "Progressing"
end
hs.message = join(phase ~= "" and phase or "no phase yet", readyMessage)
return hs
