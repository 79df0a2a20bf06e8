#include "operator/prometheus/client.h"

#include <cpprest/asyncrt_utils.h>
#include <cpprest/http_client.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <system_error>
#include <utility>

#include "operator/common/tls_verify.h"

namespace sluice::prometheus {
namespace {

namespace http = web::http;

Unexpected<QueryError> fail(QueryErrorKind kind, std::string message, int httpStatus = 0,
                            std::string errorType = {}) {
  return Unexpected(QueryError{kind, httpStatus, std::move(errorType), std::move(message)});
}

// application/x-www-form-urlencoded, encoding everything but RFC 3986 unreserved characters
// so '+' in PromQL can never be read back as a space.
std::string formEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size() * 3);
  for (unsigned char c : value) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::string truncated(std::string text) {
  constexpr std::size_t kMax = 200;
  if (text.size() > kMax) {
    text.resize(kMax);
    text += "...";
  }
  return text;
}

// A string member of an answer, or `fallback` when it is absent or not a string (a body that
// lies about its types must give an error, not an exception).
std::string stringOr(const nlohmann::json& object, const char* key, std::string fallback) {
  if (object.is_object()) {
    auto it = object.find(key);
    if (it != object.end() && it->is_string()) {
      return it->get<std::string>();
    }
  }
  return fallback;
}

// A sample value is a string: "0.5", "NaN", "+Inf", "-Inf".
Expected<double, QueryError> sampleValue(const nlohmann::json& sample) {
  if (!sample.is_array() || sample.size() != 2 || !sample[1].is_string()) {
    return fail(QueryErrorKind::BadResponse, "sample is not [timestamp, \"value\"]");
  }
  const std::string text = sample[1].get<std::string>();
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size()) {
    return fail(QueryErrorKind::BadResponse,
                "sample value \"" + truncated(text) + "\" is not a number");
  }
  if (!std::isfinite(value)) {
    return fail(QueryErrorKind::NotANumber, "query returned " + text);
  }
  return value;
}

Expected<double, QueryError> parseSuccess(const nlohmann::json& body) {
  const auto status = body.find("status");
  if (status == body.end() || !status->is_string()) {
    return fail(QueryErrorKind::BadResponse, "response has no \"status\"");
  }
  if (*status == "error") {
    return fail(QueryErrorKind::PrometheusError, stringOr(body, "error", "(no message)"), 0,
                stringOr(body, "errorType", ""));
  }
  if (*status != "success") {
    return fail(QueryErrorKind::BadResponse, "unknown status " + status->dump());
  }
  const auto data = body.find("data");
  if (data == body.end() || !data->is_object() || !data->contains("resultType") ||
      !data->contains("result")) {
    return fail(QueryErrorKind::BadResponse, "response has no data.resultType/data.result");
  }
  const auto& type = (*data)["resultType"];
  const auto& result = (*data)["result"];
  if (type == "scalar") {
    return sampleValue(result);
  }
  if (type == "vector") {
    if (!result.is_array()) {
      return fail(QueryErrorKind::BadResponse, "vector result is not an array");
    }
    if (result.empty()) {
      return fail(QueryErrorKind::NoData, "empty vector: no series matched");
    }
    if (result.size() > 1) {
      return fail(QueryErrorKind::NotScalar,
                  std::to_string(result.size()) +
                      " series returned; aggregate the query (e.g. sum(...)) to one");
    }
    if (!result[0].is_object() || !result[0].contains("value")) {
      return fail(QueryErrorKind::BadResponse, "vector sample has no value");
    }
    return sampleValue(result[0]["value"]);
  }
  if (type.is_string()) {
    return fail(QueryErrorKind::NotScalar,
                "result type " + type.get<std::string>() + " is not a scalar or vector");
  }
  return fail(QueryErrorKind::BadResponse, "resultType is not a string");
}

std::string scrub(std::string text, const std::string& address);

// Where an https Prometheus' certificate is checked against, for error messages.
std::string trustedBy(const std::string& caPem) {
  return caPem.empty() ? "the system's trusted CAs" : "the CAs of --prometheus-ca-file";
}

class HttpQueryClient final : public QueryClient {
 public:
  HttpQueryClient(const web::uri& base, const HttpQueryClientOptions& options,
                  std::string authorization)
      : timeout_(options.timeout),
        https_(base.scheme() == "https"),
        address_(redactAddress(options.address)),
        rawAddress_(options.address),
        caPem_(options.caPem),
        authorization_(std::move(authorization)),
        client_(base, makeConfig(options, verifyRecorder_)) {}

  Expected<double, QueryError> query(const std::string& promql) override {
    http::http_request request(http::methods::POST);
    request.set_request_uri("api/v1/query");
    request.set_body("query=" + formEncode(promql), "application/x-www-form-urlencoded");
    if (!authorization_.empty()) {
      request.headers().add("Authorization", authorization_);
    }
    http::http_response response;
    std::string body;
    try {
      response = client_.request(request).get();
      body = response.extract_utf8string(true).get();
    } catch (const http::http_exception& e) {
      if (e.error_code() == std::errc::timed_out) {
        return fail(QueryErrorKind::Timeout,
                    "no answer within " + std::to_string(timeout_.count()) + "ms");
      }
      return unreachable(e.what());
    } catch (const std::exception& e) {
      return unreachable(e.what());
    }

    return parseQueryResponse(response.status_code(), body);
  }

 private:
  // A refused certificate says so, with OpenSSL's reason and the trust that was applied:
  // "handshake failed" alone sends people looking at the network.
  Unexpected<QueryError> unreachable(const std::string& what) const {
    if (auto refused = verifyRecorder_->lastRefusal(); https_ && !refused.empty()) {
      return fail(QueryErrorKind::Unreachable,
                  "TLS handshake with " + address_ + " failed: certificate verify failed (" +
                      refused + "); its certificate is checked against " + trustedBy(caPem_));
    }
    return fail(QueryErrorKind::Unreachable, scrub(what, rawAddress_));
  }

  static http::client::http_client_config makeConfig(
      const HttpQueryClientOptions& options, const std::shared_ptr<tls::VerifyRecorder>& recorder) {
    http::client::http_client_config config;
    config.set_timeout(options.timeout);
    config.set_validate_certificates(true);
    config.set_ssl_context_callback([ca = options.caPem, recorder](boost::asio::ssl::context& ctx) {
      if (!ca.empty()) {
        // Exactly the given CAs, as Prometheus' own tls_config.ca_file does, not the system
        // roots as well: a private CA must not widen trust to every public one.
        SSL_CTX_set_cert_store(ctx.native_handle(), X509_STORE_new());
        ctx.add_certificate_authority(boost::asio::buffer(ca.data(), ca.size()));
      }
      recorder->attach(ctx.native_handle());
    });
    return config;
  }

  std::shared_ptr<tls::VerifyRecorder> verifyRecorder_ = std::make_shared<tls::VerifyRecorder>();

  std::chrono::milliseconds timeout_;
  bool https_;
  std::string address_;     // redacted
  std::string rawAddress_;  // only to scrub it out of messages
  std::string caPem_;
  std::string authorization_;  // "Basic ..." from the address' user:password, or empty
  http::client::http_client client_;
};

}  // namespace

Expected<double, QueryError> parseQueryResponse(int code, std::string_view text) {
  const std::string body(text);
  nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (code >= 400) {
    std::string errorType;
    std::string message = "HTTP " + std::to_string(code);
    if (json.is_object()) {
      errorType = stringOr(json, "errorType", "");
      if (json.contains("error") && json["error"].is_string()) {
        message += ": " + json["error"].get<std::string>();
      }
    } else if (!body.empty()) {
      message += ": " + truncated(body);
    }
    return fail(QueryErrorKind::HttpStatus, std::move(message), code, std::move(errorType));
  }
  if (!json.is_object()) {
    return fail(QueryErrorKind::BadResponse,
                "HTTP " + std::to_string(code) + " body is not JSON: " + truncated(body));
  }
  return parseSuccess(json);
}

const char* toString(QueryErrorKind kind) {
  switch (kind) {
    case QueryErrorKind::InvalidAddress:
      return "InvalidAddress";
    case QueryErrorKind::Unreachable:
      return "Unreachable";
    case QueryErrorKind::Timeout:
      return "Timeout";
    case QueryErrorKind::HttpStatus:
      return "HttpStatus";
    case QueryErrorKind::PrometheusError:
      return "PrometheusError";
    case QueryErrorKind::BadResponse:
      return "BadResponse";
    case QueryErrorKind::NoData:
      return "NoData";
    case QueryErrorKind::NotANumber:
      return "NotANumber";
    case QueryErrorKind::NotScalar:
      return "NotScalar";
    case QueryErrorKind::BadTemplate:
      return "BadTemplate";
  }
  return "Unknown";
}

std::string QueryError::describe() const {
  std::string out = toString(kind);
  if (!errorType.empty()) {
    out += " (" + errorType + ")";
  }
  return out + ": " + message;
}

std::optional<std::string> checkCaBundle(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) {
    return "out of memory";
  }
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  const bool ok = cert != nullptr;
  X509_free(cert);
  BIO_free(bio);
  if (!ok) {
    return "no PEM certificate (-----BEGIN CERTIFICATE-----) in it";
  }
  return std::nullopt;
}

std::string redactAddress(std::string_view address) {
  const auto scheme = address.find("://");
  if (scheme == std::string_view::npos) {
    // Not a URL; an '@' may still mark a credential ("user:pw@host:9090").
    const auto at = address.rfind('@');
    return at == std::string_view::npos ? std::string(address)
                                        : "REDACTED@" + std::string(address.substr(at + 1));
  }
  const auto start = scheme + 3;
  auto end = address.find_first_of("/?#", start);
  if (end == std::string_view::npos) {
    end = address.size();
  }
  const auto at = address.substr(start, end - start).rfind('@');
  if (at == std::string_view::npos) {
    return std::string(address);
  }
  return std::string(address.substr(0, start)) + "REDACTED@" +
         std::string(address.substr(start + at + 1));
}

namespace {

// `text` with the credential part of `address` (if any) replaced, for messages that may quote
// the address (cpprestsdk's "provided uri is invalid: ...").
std::string scrub(std::string text, const std::string& address) {
  const std::string redacted = redactAddress(address);
  if (redacted == address) {
    return text;
  }
  const auto scheme = address.find("://");
  const auto start = scheme == std::string::npos ? 0 : scheme + 3;
  const auto at = address.find('@', start) == std::string::npos
                      ? std::string::npos
                      : address.rfind('@', address.find_first_of("/?#", start));
  const std::string credential = address.substr(start, at - start);
  for (auto pos = text.find(credential); !credential.empty() && pos != std::string::npos;
       pos = text.find(credential, pos)) {
    text.replace(pos, credential.size(), "REDACTED");
  }
  return text;
}

}  // namespace

Expected<std::unique_ptr<QueryClient>, QueryError> makeHttpQueryClient(
    const HttpQueryClientOptions& options) {
  if (options.timeout <= std::chrono::milliseconds::zero()) {
    return fail(QueryErrorKind::InvalidAddress, "timeout must be positive");
  }
  const std::string shown = redactAddress(options.address);
  if (!options.caPem.empty()) {
    if (auto bad = checkCaBundle(options.caPem)) {
      return fail(QueryErrorKind::InvalidAddress, "Prometheus CA bundle: " + *bad);
    }
  }
  try {
    web::uri base(utility::conversions::to_string_t(options.address));
    if ((base.scheme() != "http" && base.scheme() != "https") || base.host().empty()) {
      return fail(QueryErrorKind::InvalidAddress,
                  "Prometheus address \"" + shown + "\" is not an http(s) URL");
    }
    // The query path is relative, so a base path (a reverse-proxy prefix) must end in '/'.
    web::uri_builder builder(base);
    auto path = builder.path();
    if (path.empty() || path.back() != '/') {
      builder.set_path(path + "/");
    }
    // user:password@ becomes basic authentication (as Prometheus' own clients read it) and
    // leaves the URI, so no request line or error carries it.
    std::string authorization;
    if (const auto userInfo = base.user_info(); !userInfo.empty()) {
      const auto decoded = web::uri::decode(userInfo);
      authorization = "Basic " + utility::conversions::to_base64(
                                     std::vector<unsigned char>(decoded.begin(), decoded.end()));
      builder.set_user_info("");
    }
    return std::unique_ptr<QueryClient>(
        std::make_unique<HttpQueryClient>(builder.to_uri(), options, std::move(authorization)));
  } catch (const std::exception& e) {
    return fail(QueryErrorKind::InvalidAddress,
                "Prometheus address \"" + shown + "\": " + scrub(e.what(), options.address));
  }
}

std::string escapeLabelValue(std::string_view value) {
  return escapeStringLiteral(value, '"');
}

std::string escapeStringLiteral(std::string_view value, char quote) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\\' || c == quote) {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

// Where a placeholder stands in the PromQL text around it, as PromQL's lexer reads it.
enum class Context { Code, DoubleQuoted, SingleQuoted, Raw, Comment };

// Follows PromQL's lexer over template text (never over substituted values): strings in ", '
// (backslash escapes) or ` (none), and # comments to the end of the line. `regex` is set when
// a string opened right after =~ or !~, a regex label matcher.
struct TemplateLexer {
  Context context = Context::Code;
  bool regex = false;
  std::string lastCode;  // the code characters before the current string, spaces dropped

  void feed(std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
      const char c = text[i];
      switch (context) {
        case Context::Code:
          if (c == '"' || c == '\'' || c == '`') {
            regex = lastCode.ends_with("=~") || lastCode.ends_with("!~");
            context = c == '"'    ? Context::DoubleQuoted
                      : c == '\'' ? Context::SingleQuoted
                                  : Context::Raw;
          } else if (c == '#') {
            context = Context::Comment;
          } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            lastCode += c;
            if (lastCode.size() > 2) {
              lastCode.erase(0, lastCode.size() - 2);
            }
          }
          break;
        case Context::DoubleQuoted:
        case Context::SingleQuoted:
          if (c == '\\') {
            ++i;  // the escaped character, whatever it is
          } else if (c == (context == Context::DoubleQuoted ? '"' : '\'')) {
            context = Context::Code;
            lastCode = "s";
          }
          break;
        case Context::Raw:
          if (c == '`') {
            context = Context::Code;
            lastCode = "s";
          }
          break;
        case Context::Comment:
          if (c == '\n') {
            context = Context::Code;
          }
          break;
      }
    }
  }
};

// RE2 metacharacters, escaped so a value in a regex matcher matches only itself.
std::string escapeRegex(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos) {
      out += '\\';
    }
    out += c;
  }
  return out;
}

// Characters a value may have outside any string: a duration ("30s"), a number or a name part.
// No '-', space or parenthesis, so it cannot add an operator or a call.
bool isBareWord(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == ':' || c == '.';
  });
}

}  // namespace

Expected<std::string, QueryError> renderQuery(std::string_view queryTemplate,
                                              const Placeholders& values) {
  std::string out;
  TemplateLexer lexer;
  std::size_t pos = 0;
  while (true) {
    const std::size_t open = queryTemplate.find("{{", pos);
    if (open == std::string_view::npos) {
      out.append(queryTemplate.substr(pos));
      return out;
    }
    out.append(queryTemplate.substr(pos, open - pos));
    lexer.feed(queryTemplate.substr(pos, open - pos));
    const std::size_t close = queryTemplate.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return fail(QueryErrorKind::BadTemplate,
                  "unterminated placeholder at offset " + std::to_string(open));
    }
    std::string_view name = queryTemplate.substr(open + 2, close - open - 2);
    while (!name.empty() && name.front() == ' ') {
      name.remove_prefix(1);
    }
    while (!name.empty() && name.back() == ' ') {
      name.remove_suffix(1);
    }
    const std::string* value = nullptr;
    std::string known;
    for (const auto& [key, v] : values) {
      known += (known.empty() ? "" : ", ") + std::string(key);
      if (key == name) {
        value = &v;
      }
    }
    if (value == nullptr) {
      return fail(QueryErrorKind::BadTemplate,
                  "unknown placeholder {{" + std::string(name) + "}} (known: " + known + ")");
    }
    // A value stays inside the string (or word) it was put in: escaped per PromQL's string
    // rules, or refused where nothing could escape it.
    const std::string placeholder = "{{" + std::string(name) + "}}";
    const bool inString = lexer.context == Context::DoubleQuoted ||
                          lexer.context == Context::SingleQuoted || lexer.context == Context::Raw;
    const std::string literal = inString && lexer.regex ? escapeRegex(*value) : *value;
    switch (lexer.context) {
      case Context::DoubleQuoted:
        out += escapeStringLiteral(literal, '"');
        break;
      case Context::SingleQuoted:
        out += escapeStringLiteral(literal, '\'');
        break;
      case Context::Raw:
        if (std::any_of(literal.begin(), literal.end(), [](char c) {
              return c == '`' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
            })) {
          return fail(QueryErrorKind::BadTemplate,
                      placeholder +
                          " in a `raw string` cannot carry a backtick or a control "
                          "character; put it in double quotes");
        }
        out += literal;
        break;
      case Context::Comment:
        if (std::any_of(value->begin(), value->end(),
                        [](char c) { return c == '\n' || c == '\r'; })) {
          return fail(QueryErrorKind::BadTemplate,
                      placeholder + " in a comment cannot carry a line break");
        }
        out += *value;
        break;
      case Context::Code:
        if (!isBareWord(*value)) {
          return fail(QueryErrorKind::BadTemplate,
                      placeholder +
                          " outside a quoted string takes only letters, digits, '_', "
                          "':' and '.', got \"" +
                          escapeStringLiteral(*value, '"') + "\"; put it in double quotes");
        }
        out += *value;
        break;
    }
    pos = close + 2;
  }
}

Expected<std::string, QueryError> renderQuery(std::string_view queryTemplate,
                                              const TemplateValues& values) {
  Placeholders placeholders{{"canary", values.canary},
                            {"stable", values.stable},
                            {"namespace", values.namespace_},
                            {"interval", values.interval}};
  if (!values.region.empty()) {
    placeholders.emplace_back("region", values.region);
  }
  return renderQuery(queryTemplate, placeholders);
}

std::string formatDuration(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  if (ms != 0 && ms % 3'600'000 == 0) {
    return std::to_string(ms / 3'600'000) + "h";
  }
  if (ms != 0 && ms % 60'000 == 0) {
    return std::to_string(ms / 60'000) + "m";
  }
  if (ms % 1000 == 0) {
    return std::to_string(ms / 1000) + "s";
  }
  return std::to_string(ms) + "ms";
}

}  // namespace sluice::prometheus
