// HTTP request and response types, JSON helpers, the Status -> HTTP mapping
// and the router. Beast stays in server.cc; handlers see only these types.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "common/status.h"

namespace tandem::net {

struct Request {
  std::string method;                                        // upper case: "GET", "POST", ...
  std::string target;                                        // as received: path plus query
  std::string path;                                          // without the query, not percent-decoded
  std::string query;                                         // after '?', not decoded
  std::vector<std::pair<std::string, std::string>> headers;  // names lower case
  std::string body;
  std::string request_id;
  std::string remote_address;
  std::map<std::string, std::string> path_params;  // from "{name}" route segments

  // Header value or "" (name is case-insensitive).
  std::string_view Header(std::string_view name) const;
  // Decoded query parameter or `fallback`.
  std::string QueryParam(std::string_view name, std::string fallback = "") const;
  // Path parameter (decoded) or "".
  std::string PathParam(const std::string& name) const;
  // The token of an "Authorization: Bearer <token>" header, or "".
  std::string BearerToken() const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Response Json(const nlohmann::json& body, int status = 200);
  static Response Text(std::string body, int status = 200,
                       std::string content_type = "text/plain; charset=utf-8");
  // {"error": {"code": "invalid_argument", "message": "..."}} with the HTTP
  // status that matches the Status code.
  static Response Error(const absl::Status& status);
};

// 400 for InvalidArgument, 401 Unauthenticated, 403 PermissionDenied, 404
// NotFound, 409 AlreadyExists/FailedPrecondition/Aborted, 413 OutOfRange,
// 429 ResourceExhausted, 501 Unimplemented, 503 Unavailable, 504
// DeadlineExceeded, 500 otherwise.
int HttpStatusFor(absl::StatusCode code);
// "invalid_argument", "not_found", ...
std::string ErrorCodeName(absl::StatusCode code);

// The deepest nesting of arrays and objects a request body may have.
inline constexpr int kMaxJsonDepth = 32;

// Parses the body as a JSON object. InvalidArgument (with the parser's
// position) if it is not JSON, not an object, holds a number out of range
// (1e999999) or nests deeper than kMaxJsonDepth.
absl::StatusOr<nlohmann::json> ParseJsonObject(const Request& req);

// A string field of a JSON object. InvalidArgument "missing field 'key'"
// when absent or null and `required`, else ""; "field 'key' must be a
// string" for another type.
absl::StatusOr<std::string> StringField(const nlohmann::json& body, const std::string& key,
                                        bool required = true);

// Decodes %XX and '+' (in queries). Malformed escapes are kept literally.
std::string PercentDecode(std::string_view s, bool plus_is_space);

using Handler = std::function<Response(Request&)>;

// A handler body that may fail; Checked turns its error into
// Response::Error, so bodies are written with RETURN_IF_ERROR and friends.
using CheckedHandler = std::function<absl::StatusOr<Response>(Request&)>;
Handler Checked(CheckedHandler fn);

// The same after authentication: `authenticate` maps the request (its
// bearer token, usually) to the caller or to an error, and the body runs
// only for an authenticated caller. One wrapper for every component's
// "handler with a token check".
template <typename Caller>
using AuthenticatedHandler = std::function<absl::StatusOr<Response>(Request&, const Caller&)>;
template <typename Caller>
Handler Authenticated(std::function<absl::StatusOr<Caller>(Request&)> authenticate,
                      AuthenticatedHandler<Caller> fn) {
  return Checked(
      [authenticate = std::move(authenticate), fn = std::move(fn)](Request& req) -> absl::StatusOr<Response> {
        ASSIGN_OR_RETURN(Caller caller, authenticate(req));
        return fn(req, caller);
      });
}

// Where a route's handler runs. kQuick handlers run on the connection's I/O
// thread and must be cheap. kHeavy handlers (batch parsing of phone numbers,
// uploads) run on the server's bounded worker pool, so that they never hold
// up other connections; when the pool's queue is full the request gets 503.
enum class Work { kQuick, kHeavy };

// Long polls: a request that is answered when something happens, or after
// a while. A LongPollHandler runs like a kQuick handler and either answers
// at once (a Response) or returns a Wait. The connection then waits, holding
// no I/O thread, until `wake` is called, Wait::at_most passes, or the server
// starts draining; then Wait::answer runs on the connection's strand (like a
// kQuick handler) and makes the response. `wake` is thread-safe, cheap (it
// posts to the connection's strand), may be called any number of times and
// even before the handler returns, and does nothing once the wait is over.
// Whatever Wait::answer holds (e.g. a subscription) is destroyed when the
// request is done, or with the server. At most ServerOptions::max_waiting
// requests wait at once; beyond that a Wait is answered 503.
enum class WaitEnd { kWoken, kTimedOut, kDraining };
struct Wait {
  absl::Duration at_most;
  std::function<Response(WaitEnd)> answer;
};
using LongPollReply = std::variant<Response, Wait>;
using Wake = std::function<void()>;
using LongPollHandler = std::function<LongPollReply(Request&, Wake wake)>;

// Routes by method and path pattern ("/v1/keys/{number}"). Thread-safe for
// lookups once the server has started; add routes before.
class Router {
 public:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;  // unset for a long poll
    Work work = Work::kQuick;
    LongPollHandler long_poll;  // set for a long poll only
    // The largest body the route takes; 0: ServerOptions::max_body_bytes.
    size_t max_body_bytes = 0;
    // Checked on the request's header alone, before the body is read; an
    // error is answered at once and the connection closed. With a large
    // body limit, this keeps an unauthenticated caller from sending one.
    std::function<absl::Status(const Request&)> admit = nullptr;
  };

  void Handle(std::string method, std::string pattern, Handler handler, Work work = Work::kQuick);
  void Get(std::string pattern, Handler h, Work w = Work::kQuick) {
    Handle("GET", std::move(pattern), std::move(h), w);
  }
  void Post(std::string pattern, Handler h, Work w = Work::kQuick) {
    Handle("POST", std::move(pattern), std::move(h), w);
  }
  void Put(std::string pattern, Handler h, Work w = Work::kQuick) {
    Handle("PUT", std::move(pattern), std::move(h), w);
  }
  void Delete(std::string pattern, Handler h, Work w = Work::kQuick) {
    Handle("DELETE", std::move(pattern), std::move(h), w);
  }
  // A GET route that may wait (see LongPollHandler). Its successful
  // answers are logged at debug level: an idle consumer would otherwise log
  // a line for every wait.
  void LongPoll(std::string pattern, LongPollHandler handler);

  // Gives the routes registered under `method` and `pattern` their own
  // body limit and header check (see Route). Call after registering them.
  void SetBodyLimit(const std::string& method, const std::string& pattern, size_t max_body_bytes,
                    std::function<absl::Status(const Request&)> admit = nullptr) {
    for (Route& r : routes_) {
      if (r.method != method || r.pattern != pattern) continue;
      r.max_body_bytes = max_body_bytes;
      r.admit = admit;
      largest_route_body_ = std::max(largest_route_body_, max_body_bytes);
    }
  }
  // The largest body limit a route set (0 if none did).
  size_t largest_route_body() const { return largest_route_body_; }

  // Finds the route; fills req.path_params. Returns a 404 or 405 response
  // in `error` when nothing matches. `route` is the matched pattern, or
  // "unmatched" (for metrics labels, which must not contain raw paths).
  const Route* Match(Request& req, Response* error, std::string* route) const;

  // Every registered route, in registration order (for fuzzing and docs).
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
  size_t largest_route_body_ = 0;
};

// The label a metric gets for `method`: the method itself when it is one of
// HTTP's standard methods, "other" for anything a client invents, so that
// clients cannot create metric series at will.
std::string_view MethodLabel(std::string_view method);

}  // namespace tandem::net
