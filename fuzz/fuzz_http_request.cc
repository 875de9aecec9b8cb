// Request helpers that read attacker-controlled paths, queries and headers.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "net/http.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  tandem::net::Request req;
  size_t q = s.find('?');
  req.path = s.substr(0, q);
  if (q != std::string::npos) req.query = s.substr(q + 1);
  req.method = "GET";
  req.headers.emplace_back("authorization", s);
  req.body = s;
  tandem::net::Router router;
  router.Get("/v1/keys/{number}", [](tandem::net::Request& r) { return tandem::net::Response::Json({}); });
  router.Post("/v1/keys/{number}/x", [](tandem::net::Request& r) { return tandem::net::Response::Json({}); });
  tandem::net::Response error;
  std::string route;
  router.Match(req, &error, &route);
  req.QueryParam("a");
  req.BearerToken();
  tandem::net::ParseJsonObject(req).IgnoreError();
  tandem::net::PercentDecode(s, true);
  return 0;
}
