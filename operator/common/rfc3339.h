#pragma once

// RFC 3339 timestamps as Kubernetes writes and reads them. This is the only parser and
// formatter in Sluice: status times, conditions, metadata, Events and Leases all go through it,
// so every layer agrees on what a timestamp means.
//
// Formatting is always UTC with "Z", and takes the floor of the time point, so times before
// 1970 come out right (1969-12-31T23:59:59.9Z formats as "1969-12-31T23:59:59Z", never as
// "1970-01-01T00:00:00Z"):
//   formatRfc3339       metav1.Time       "2006-01-02T15:04:05Z"         (status, conditions)
//   formatRfc3339Micro  metav1.MicroTime  "2006-01-02T15:04:05.000000Z"  (Events, Leases)
// Digits below the printed precision are dropped, not rounded, as Go's Time.Format does.
//
// Parsing accepts exactly RFC 3339 section 5.6 date-time:
//   YYYY-MM-DD "T" hh:mm:ss ["." 1*DIGIT] ("Z" / "+" hh:mm / "-" hh:mm)
// and follows Go's time.Parse(time.RFC3339) (what kube-apiserver uses), with one deliberate
// difference:
//   - "T" and "Z" may be lowercase, as RFC 3339 section 5.6 allows (Go requires uppercase).
//     A space between date and time (the section 5.6 NOTE) is rejected: neither Go nor the
//     apiserver accepts it, so such text cannot have come from Kubernetes.
//   - The fraction has one or more digits of any length. It is kept to system_clock's
//     precision (nanoseconds); further digits are truncated, not rounded (as Go does).
//   - A numeric offset is applied, so the result is UTC; "-00:00" is UTC.
//   - Every field is range-checked: month 1-12, day 1..days in that month (29 February only
//     in leap years), hour 0-23, minute 0-59, second 0-59, offset hour 0-23, offset minute
//     0-59. Fields are fixed-width ASCII digits: no signs, spaces or short fields.
//   - A leap second (second 60) is rejected, as Go rejects it ("second out of range"): the
//     apiserver can never write one, and mapping it to :59 would silently reorder times.
//   - Nothing may follow the zone; nothing may be missing (the zone is required).
//   - Instants system_clock cannot represent (with nanoseconds: before 1677-09-21T00:12:44Z
//     or after 2262-04-11T23:47:16.854775807Z) are rejected rather than wrapped.
// A failure names the text and what is wrong, e.g.
//   invalid RFC 3339 timestamp "2023-02-29T00:00:00Z": day 29 out of range 1-28 for 2023-02

#include <string>
#include <string_view>

#include "operator/common/clock.h"
#include "operator/common/expected.h"

namespace sluice {

std::string formatRfc3339(Clock::TimePoint t);
std::string formatRfc3339Micro(Clock::TimePoint t);

Expected<Clock::TimePoint, std::string> parseRfc3339(std::string_view text);

}  // namespace sluice
