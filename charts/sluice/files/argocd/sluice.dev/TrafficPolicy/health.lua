-- Argo CD health check for sluice.dev TrafficPolicy (docs/gitops.md says how to install it).
-- Reads the global `obj`, returns `hs` = {status, message}. Uses only Lua's base and table
-- libraries: Argo CD opens no string or math library for scripts set in argocd-cm. A
-- TrafficPolicy has no phase: its conditions decide, and nothing maps to Unknown.
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
local ready = condition(conditions, "Ready")
local degraded = condition(conditions, "Degraded")
local stalled = condition(conditions, "Stalled")
local progressing = condition(conditions, "Progressing")

if ready ~= nil and ready.status == "False" and
    (ready.reason == "InvalidSpec" or ready.reason == "Conflicted") then
  hs.status = "Degraded"
  hs.message = join(ready.reason, ready.message)
  return hs
end
-- Panic: too few healthy backends, traffic spread over all of them.
if isTrue(degraded) then
  hs.status = "Degraded"
  hs.message = join(degraded.reason, degraded.message)
  return hs
end
if isTrue(stalled) then
  hs.status = "Degraded"
  hs.message = join(stalled.reason, stalled.message)
  return hs
end
if isTrue(ready) then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  -- An incident shift moves weights step by step; the policy is serving all the while.
  if isTrue(progressing) and progressing.reason == "Shifting" then
    hs.message = join(hs.message, progressing.message)
  end
  return hs
end
hs.status = "Progressing"
if ready ~= nil then
  hs.message = join(ready.reason, ready.message)
else
  hs.message = "Waiting for the Ready condition"
end
return hs
