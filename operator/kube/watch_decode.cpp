#include "operator/kube/watch_decode.h"

namespace sluice::kube {

ApiError apiErrorFromStatus(const Object& status, int httpCode) {
  ApiError e;
  e.kind = ApiError::Kind::Api;
  e.code = httpCode;
  if (!status.is_object())
    return e;
  if (auto it = status.find("code"); it != status.end() && it->is_number_integer()) {
    e.code = it->get<int>();
  }
  if (auto it = status.find("reason"); it != status.end() && it->is_string()) {
    e.reason = it->get<std::string>();
  }
  if (auto it = status.find("message"); it != status.end() && it->is_string()) {
    e.message = it->get<std::string>();
  }
  if (auto it = status.find("details"); it != status.end() && it->is_object()) {
    e.details = *it;
    if (auto ra = it->find("retryAfterSeconds"); ra != it->end() && ra->is_number_integer()) {
      e.retryAfter = std::chrono::seconds(ra->get<int64_t>());
    }
  }
  return e;
}

Result<WatchEvent> decodeWatchEvent(std::string_view line) {
  auto decodeError = [](std::string message) {
    ApiError e;
    e.kind = ApiError::Kind::Decode;
    e.message = std::move(message);
    return Unexpected(std::move(e));
  };
  Object parsed = Object::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return decodeError("watch event is not a JSON object");
  }
  auto type = parsed.find("type");
  auto object = parsed.find("object");
  if (type == parsed.end() || !type->is_string())
    return decodeError("watch event without type");
  if (object == parsed.end() || !object->is_object()) {
    return decodeError("watch event without object");
  }
  const auto& t = type->get_ref<const std::string&>();
  WatchEvent event;
  if (t == "ADDED") {
    event.type = WatchEvent::Type::Added;
  } else if (t == "MODIFIED") {
    event.type = WatchEvent::Type::Modified;
  } else if (t == "DELETED") {
    event.type = WatchEvent::Type::Deleted;
  } else if (t == "BOOKMARK") {
    event.type = WatchEvent::Type::Bookmark;
  } else if (t == "ERROR") {
    event.type = WatchEvent::Type::Error;
  } else {
    return decodeError("unknown watch event type \"" + t + "\"");
  }
  event.object = std::move(*object);
  return event;
}

}  // namespace sluice::kube
