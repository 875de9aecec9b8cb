// Request helpers, error mapping and routing.
#include "net/http.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/error_codes.h"

namespace tandem::net {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.emplace_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view Request::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return v;
  }
  return {};
}

std::string Request::QueryParam(std::string_view name, std::string fallback) const {
  std::string_view q = query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    size_t eq = pair.find('=');
    std::string key = PercentDecode(pair.substr(0, eq), true);
    if (key == name) {
      return eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1), true);
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return fallback;
}

std::string Request::PathParam(const std::string& name) const {
  auto it = path_params.find(name);
  return it == path_params.end() ? "" : it->second;
}

std::string Request::BearerToken() const {
  std::string_view auth = Header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() <= kBearer.size() || !IEquals(auth.substr(0, kBearer.size()), kBearer)) return "";
  return std::string(auth.substr(kBearer.size()));
}

std::string PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi << 4 | lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

Response Response::Json(const nlohmann::json& body, int status) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response Response::Text(std::string body, int status, std::string content_type) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

Handler Checked(CheckedHandler fn) {
  return [fn = std::move(fn)](Request& req) -> Response {
    absl::StatusOr<Response> res = fn(req);
    if (!res.ok()) return Response::Error(res.status());
    return *std::move(res);
  };
}

Response Response::Error(const absl::Status& status) {
  nlohmann::json j;
  j["error"]["code"] = ErrorCodeName(status.code());
  j["error"]["message"] = std::string(status.message());
  if (std::string reason = ReasonOf(status); !reason.empty()) j["error"]["reason"] = reason;
  return Json(j, HttpStatusFor(status.code()));
}

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kOutOfRange:
      return 413;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    case absl::StatusCode::kCancelled:
      return 400;
    default:
      return 500;
  }
}

std::string ErrorCodeName(absl::StatusCode code) { return ::tandem::ErrorCodeName(code); }

absl::StatusOr<nlohmann::json> ParseJsonObject(const Request& req) {
  if (req.body.empty()) return absl::InvalidArgumentError("request body is empty; expected a JSON object");
  // The depth is checked before parsing, in one linear pass, so that a
  // deeply nested body costs no allocations.
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : req.body) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        return absl::InvalidArgumentError(
            absl::StrCat("request body nests arrays and objects deeper than ", kMaxJsonDepth, " levels"));
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(req.body);
  } catch (const nlohmann::json::parse_error& e) {
    return absl::InvalidArgumentError(absl::StrCat("request body is not valid JSON (at byte ", e.byte, ")"));
  } catch (const nlohmann::json::out_of_range&) {
    return absl::InvalidArgumentError("request body holds a number out of range");
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError("request body is not valid JSON");
  }
  if (!j.is_object()) return absl::InvalidArgumentError("request body must be a JSON object");
  return j;
}

absl::StatusOr<std::string> StringField(const nlohmann::json& body, const std::string& key, bool required) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) {
    if (required) return absl::InvalidArgumentError(absl::StrCat("missing field '", key, "'"));
    return std::string();
  }
  if (!it->is_string()) return absl::InvalidArgumentError(absl::StrCat("field '", key, "' must be a string"));
  return it->get<std::string>();
}

std::string_view MethodLabel(std::string_view method) {
  static constexpr std::string_view kKnown[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
  for (std::string_view known : kKnown) {
    if (method == known) return known;
  }
  return "other";
}

void Router::Handle(std::string method, std::string pattern, Handler handler, Work work) {
  Route r{std::move(method), pattern, SplitPath(pattern), std::move(handler), work, nullptr};
  routes_.push_back(std::move(r));
}

void Router::LongPoll(std::string pattern, LongPollHandler handler) {
  Route r{"GET", pattern, SplitPath(pattern), nullptr, Work::kQuick, std::move(handler)};
  routes_.push_back(std::move(r));
}

const Router::Route* Router::Match(Request& req, Response* error, std::string* route) const {
  std::vector<std::string> segments = SplitPath(req.path);
  std::vector<std::string> allowed;
  for (const Route& r : routes_) {
    if (r.segments.size() != segments.size()) continue;
    std::map<std::string, std::string> params;
    bool ok = true;
    for (size_t i = 0; i < segments.size() && ok; ++i) {
      const std::string& want = r.segments[i];
      if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
        params[want.substr(1, want.size() - 2)] = PercentDecode(segments[i], false);
      } else {
        ok = want == segments[i];
      }
    }
    if (!ok) continue;
    if (r.method != req.method && !(req.method == "HEAD" && r.method == "GET")) {
      allowed.push_back(r.method);
      continue;
    }
    req.path_params = std::move(params);
    *route = r.pattern;
    return &r;
  }
  if (!allowed.empty()) {
    std::string allow;
    for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
    *error = Response::Error(
        absl::InvalidArgumentError(absl::StrCat("method ", req.method, " is not allowed here; use ", allow)));
    error->status = 405;
    error->body =
        nlohmann::json{{"error",
                        {{"code", "method_not_allowed"},
                         {"message", "method " + req.method + " is not allowed here; use " + allow}}}}
            .dump();
    error->headers.emplace_back("Allow", allow);
  } else {
    *error = Response::Error(absl::NotFoundError(absl::StrCat("no such endpoint: ", req.path)));
  }
  *route = "unmatched";
  return nullptr;
}

}  // namespace tandem::net
