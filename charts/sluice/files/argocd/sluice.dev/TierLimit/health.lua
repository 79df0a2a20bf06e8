-- Argo CD health check for sluice.dev TierLimit (docs/gitops.md says how to install it).
-- Reads the global `obj`, returns `hs` = {status, message}. Uses only Lua's base and table
-- libraries: Argo CD opens no string or math library for scripts set in argocd-cm. A TierLimit
-- has no phase: Ready (its HPA) and RateLimitsEnforced (its limits in the gateway) decide,
-- and nothing maps to Unknown.
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

local function terminal(c)
  return c ~= nil and c.status == "False" and
      (c.reason == "InvalidSpec" or c.reason == "Conflicted")
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
local limits = condition(conditions, "RateLimitsEnforced")
local degraded = condition(conditions, "Degraded")
local stalled = condition(conditions, "Stalled")

local rejected = terminal(ready) and ready or (terminal(limits) and limits or nil)
if rejected ~= nil then
  hs.status = "Degraded"
  hs.message = join(rejected.type, rejected.reason, rejected.message)
  return hs
end
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
if isTrue(ready) and (limits == nil or isTrue(limits)) then
  hs.status = "Healthy"
  hs.message = join(ready.message, limits ~= nil and limits.message or "")
  return hs
end
hs.status = "Progressing"
if ready == nil then
  hs.message = "Waiting for the Ready condition"
elseif not isTrue(ready) then
  hs.message = join("Ready", ready.reason, ready.message)
else
  hs.message = join("RateLimitsEnforced", limits.reason, limits.message)
end
return hs
