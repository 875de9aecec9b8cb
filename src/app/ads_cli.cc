// The advertiser's command-line client for the ads HTTP API
// (docs/ads-api.md). The server comes from --server or TANDEM_ADS_SERVER and
// the advertiser token from --token or TANDEM_ADS_TOKEN.
//
// Uploads read a CSV file, normalize and hash the numbers here by default
// (SHA-256 of the E.164 digits), so raw numbers never leave this machine;
// --raw sends them as they are for the server to normalize.
#include "app/ads_cli.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/csv.h"
#include "net/client.h"
#include "phone/phone.h"

namespace tandem::app {
namespace {

using nlohmann::json;

struct AdsOptions {
  std::string server, token, admin_token;
  std::string name, description;
  int64_t id = 0;
  // uploads
  std::string file, column, country;
  bool header = false, raw = false, replace = false, wait = false;
  int batch = 10'000;
  // campaigns
  std::string title, text, link, include, exclude, segment;
  int64_t budget = 0, frequency_cap = 1;
  int limit = 20;
};

std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::optional<json> Call(const std::string& server, const std::string& token, const std::string& method,
                         const std::string& target, const json* body = nullptr, const char* who = "tandem ads") {
  net::HttpClient client(server);
  net::Headers headers;
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
  if (body) headers.emplace_back("Content-Type", "application/json");
  auto res = client.Request(method, target, body ? body->dump() : "", headers);
  if (!res.ok()) {
    std::cerr << who << ": " << res.status().message() << "\n";
    return std::nullopt;
  }
  if (res->status >= 300) {
    std::cerr << who << ": " << net::StatusFromResponse(*res).message() << "\n";
    json j = json::parse(res->body, nullptr, false);
    if (!j.is_discarded() && j.contains("error") && j["error"].contains("invalid_entries")) {
      for (const auto& e : j["error"]["invalid_entries"]) {
        std::cerr << "  row " << e["index"] << ": " << e["message"].get<std::string>() << "\n";
      }
    }
    return std::nullopt;
  }
  json j = json::parse(res->body, nullptr, false);
  return j.is_discarded() ? json::object() : j;
}

std::string Server(const AdsOptions& o) { return o.server.empty() ? EnvOr("TANDEM_ADS_SERVER", "127.0.0.1:8080") : o.server; }
std::string Token(const AdsOptions& o) { return o.token.empty() ? EnvOr("TANDEM_ADS_TOKEN", "") : o.token; }

std::optional<json> Ads(const AdsOptions& o, const std::string& method, const std::string& target,
                        const json* body = nullptr) {
  return Call(Server(o), Token(o), method, target, body);
}

int Print(const std::optional<json>& j) {
  if (!j) return 1;
  std::cout << j->dump() << "\n";
  return 0;
}

// One CSV row that will be uploaded: its line in the file and its value.
struct Row {
  size_t line;
  std::string value;
};

void Progress(size_t done, size_t total) {
  if (!::isatty(2)) return;
  constexpr int kWidth = 40;
  int filled = total == 0 ? kWidth : static_cast<int>(kWidth * done / total);
  std::cerr << "\r[" << std::string(filled, '#') << std::string(kWidth - filled, '.') << "] " << done << "/" << total
            << " rows" << std::flush;
  if (done == total) std::cerr << "\n";
}

int Upload(const AdsOptions& o, const std::string& path_suffix) {
  if (o.batch < 1 || o.batch > 10'000) {
    std::cerr << "tandem ads: --batch must be 1 to 10000\n";
    return 2;
  }
  if (!o.country.empty() && !phone::IsKnownRegion(o.country)) {
    std::cerr << "tandem ads: unknown country '" << o.country << "' (use an ISO code such as US)\n";
    return 2;
  }
  std::ifstream in(o.file);
  if (!in) {
    std::cerr << "tandem ads: cannot open " << o.file << "\n";
    return 2;
  }
  size_t column = 0;
  std::string column_name;
  if (!o.column.empty()) {
    unsigned long n = 0;
    if (absl::SimpleAtoi(o.column, &n) && n >= 1) {
      column = n - 1;
    } else {
      column_name = o.column;
    }
  }
  bool header = o.header || !column_name.empty();
  std::vector<Row> rows;
  std::vector<std::pair<size_t, std::string>> problems;  // line, message
  std::string line;
  std::vector<std::string> fields;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (absl::Status st = ParseCsvLine(line, &fields); !st.ok()) {
      problems.emplace_back(line_no, "malformed CSV: " + std::string(st.message()));
      continue;
    }
    if (header && line_no == 1) {
      if (!column_name.empty()) {
        auto it = std::find(fields.begin(), fields.end(), column_name);
        if (it == fields.end()) {
          std::cerr << "tandem ads: no column '" << column_name << "' in the header of " << o.file << "\n";
          return 2;
        }
        column = static_cast<size_t>(it - fields.begin());
      }
      continue;
    }
    if (fields.size() == 1 && fields[0].empty()) continue;  // blank line
    if (column >= fields.size()) {
      problems.emplace_back(line_no, "no column " + std::to_string(column + 1));
      continue;
    }
    rows.push_back({line_no, std::string(absl::StripAsciiWhitespace(fields[column]))});
  }
  const size_t unreadable = problems.size();
  // Normalize and hash here unless --raw: only hashes leave this machine.
  std::vector<Row> upload;
  if (o.raw) {
    upload = rows;
  } else {
    std::vector<std::string_view> views;
    for (const auto& r : rows) views.push_back(r.value);
    auto results = phone::NormalizeAndHashBatch(views, o.country);
    for (size_t i = 0; i < rows.size(); ++i) {
      if (results[i].reason == phone::Reason::kOk) {
        upload.push_back({rows[i].line, results[i].value});
      } else {
        problems.emplace_back(rows[i].line, std::string(phone::ReasonText(results[i].reason)) + " (" +
                                                std::string(phone::ReasonCode(results[i].reason)) + ")");
      }
    }
  }
  if (upload.empty()) {
    std::cerr << "tandem ads: no valid rows in " << o.file << "\n";
    for (const auto& [l, m] : problems) std::cerr << "line " << l << ": " << m << "\n";
    return 2;
  }
  std::random_device rd;
  char sid[32];
  std::snprintf(sid, sizeof sid, "cli-%08x%08x", rd(), rd());
  std::string target = "/v1/ads/audiences/" + std::to_string(o.id) + "/users" + path_suffix;
  size_t batches = (upload.size() + o.batch - 1) / o.batch;
  std::string state;
  Progress(0, upload.size());
  for (size_t b = 0; b < batches; ++b) {
    size_t start = b * o.batch, end = std::min(upload.size(), start + o.batch);
    json data = json::array();
    for (size_t i = start; i < end; ++i) data.push_back(upload[i].value);
    json body = {{"session", {{"session_id", sid}, {"batch_seq", b + 1}, {"last_batch_flag", b + 1 == batches}}},
                 {"payload", {{"schema", o.raw ? "PHONE" : "PHONE_SHA256"}, {"data", data}}}};
    if (o.raw && !o.country.empty()) body["payload"]["country"] = o.country;
    auto res = Ads(o, "POST", target, &body);
    if (!res) {
      std::cerr << "tandem ads: batch " << b + 1 << " of " << batches << " failed; session " << sid
                << " is incomplete (upload again)\n";
      return 1;
    }
    for (const auto& e : (*res)["invalid_entries"]) {
      size_t index = start + e["index"].get<size_t>();
      problems.emplace_back(index < upload.size() ? upload[index].line : 0,
                            e["message"].get<std::string>() + " (" + e["reason"].get<std::string>() + ")");
    }
    state = (*res)["session_state"].get<std::string>();
    Progress(end, upload.size());
  }
  std::sort(problems.begin(), problems.end());
  const size_t shown = std::min<size_t>(problems.size(), 20);
  for (size_t i = 0; i < shown; ++i) std::cerr << "line " << problems[i].first << ": " << problems[i].second << "\n";
  if (problems.size() > shown) std::cerr << "... and " << problems.size() - shown << " more invalid rows\n";
  std::cout << "rows: " << rows.size() + unreadable << ", sent: " << upload.size() << (o.raw ? " raw" : " hashed") << ", invalid: " << problems.size()
            << ", session " << sid << ": " << state << "\n";
  if (o.wait) {
    for (int i = 0; i < 600; ++i) {
      auto list = Ads(o, "GET", "/v1/ads/audiences");
      if (!list) return 1;
      for (const auto& a : (*list)["audiences"]) {
        if (a["id"].get<int64_t>() == o.id && a["status"] != "matching" && a["status"] != "uploading") {
          std::cout << "audience " << o.id << ": " << a["status"].get<std::string>() << "\n";
          return 0;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::cerr << "tandem ads: still matching; check with `tandem ads audience show " << o.id << "`\n";
    return 1;
  }
  return 0;
}

std::optional<json> IdArray(const std::string& text) {
  json a = json::array();
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int64_t id;
    if (!absl::SimpleAtoi(part, &id) || id <= 0) return std::nullopt;
    a.push_back(id);
  }
  return a;
}

int CreateCampaign(const AdsOptions& o) {
  auto include = IdArray(o.include), exclude = IdArray(o.exclude);
  if (!include || !exclude) {
    std::cerr << "tandem ads: --include and --exclude take audience ids separated by commas\n";
    return 2;
  }
  json segments = json::array();
  for (absl::string_view s : absl::StrSplit(o.segment, ',', absl::SkipEmpty())) segments.push_back(std::string(s));
  json body = {{"name", o.name},
               {"creative", {{"title", o.title}, {"text", o.text}, {"link", o.link}}},
               {"targeting", {{"include_audiences", *include}, {"exclude_audiences", *exclude}, {"segments", segments}}},
               {"impression_budget", o.budget},
               {"frequency_cap_per_day", o.frequency_cap}};
  return Print(Ads(o, "POST", "/v1/ads/campaigns", &body));
}

int ShowAudience(const AdsOptions& o) {
  auto a = Ads(o, "GET", "/v1/ads/audiences/" + std::to_string(o.id));
  if (!a) return 1;
  std::cout << "audience " << (*a)["id"] << " \"" << (*a)["name"].get<std::string>() << "\": "
            << (*a)["status"].get<std::string>() << "\n";
  if ((*a)["size"].is_object()) {
    std::cout << "size: " << (*a)["size"]["range"].get<std::string>() << " people"
              << ((*a)["size"]["targetable"].get<bool>() ? "" : " (too small to target)") << "\n";
  } else if (a->contains("size_note")) {
    std::cout << "size: not shown: " << (*a)["size_note"].get<std::string>() << "\n";
  }
  for (const auto& s : (*a)["sessions"]) {
    std::cout << "session " << s["session_id"].get<std::string>() << " (" << s["kind"].get<std::string>()
              << "): " << s["state"].get<std::string>() << ", " << s["rows"] << " rows, " << s["invalid_rows"]
              << " invalid\n";
  }
  return 0;
}

}  // namespace

void AddAdsCommands(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<AdsOptions>();
  CLI::App* ads = app.add_subcommand("ads", "Advertise: customer-list audiences and campaigns");
  ads->require_subcommand(1);
  ads->add_option("--server", o->server, "Server address host:port (default $TANDEM_ADS_SERVER or 127.0.0.1:8080)");
  ads->add_option("--token", o->token, "Advertiser token (default $TANDEM_ADS_TOKEN)");
  auto on = [exit_code](CLI::App* cmd, std::function<int()> run) {
    cmd->callback([exit_code, run] { *exit_code = run(); });
  };

  CLI::App* adv = ads->add_subcommand("advertiser", "Advertiser accounts (operator)");
  adv->require_subcommand(1);
  CLI::App* create_adv = adv->add_subcommand("create", "Create an advertiser and print its token");
  create_adv->add_option("--name", o->name, "Business name")->required();
  create_adv->add_option("--admin-token", o->admin_token, "The operator token (ads.admin_token)")->required();
  on(create_adv, [o] {
    json body = {{"name", o->name}};
    return Print(Call(Server(*o), o->admin_token, "POST", "/v1/ads/advertisers", &body));
  });
  on(ads->add_subcommand("me", "Your advertiser id and what is left of today's budget"),
     [o] { return Print(Ads(*o, "GET", "/v1/ads/me")); });

  CLI::App* aud = ads->add_subcommand("audience", "Customer-list audiences");
  aud->require_subcommand(1);
  CLI::App* create = aud->add_subcommand("create", "Create an empty audience");
  create->add_option("--name", o->name, "Name")->required();
  create->add_option("--description", o->description, "Description");
  on(create, [o] {
    json body = {{"name", o->name}, {"description", o->description}};
    return Print(Ads(*o, "POST", "/v1/ads/audiences", &body));
  });
  on(aud->add_subcommand("list", "Your audiences and their status"), [o] {
    auto list = Ads(*o, "GET", "/v1/ads/audiences");
    if (!list) return 1;
    for (const auto& a : (*list)["audiences"]) {
      std::cout << a["id"] << "\t" << a["status"].get<std::string>() << "\t" << a["name"].get<std::string>() << "\n";
    }
    return 0;
  });
  CLI::App* show = aud->add_subcommand("show", "Status and size range (the first look at a new version uses budget)");
  show->add_option("id", o->id, "Audience id")->required();
  on(show, [o] { return ShowAudience(*o); });
  CLI::App* del = aud->add_subcommand("delete", "Delete the audience and its memberships");
  del->add_option("id", o->id, "Audience id")->required();
  on(del, [o] { return Print(Ads(*o, "DELETE", "/v1/ads/audiences/" + std::to_string(o->id))); });
  auto upload_options = [o](CLI::App* cmd) {
    cmd->add_option("id", o->id, "Audience id")->required();
    cmd->add_option("file", o->file, "CSV file (or one number per line)")->required();
    cmd->add_option("--column", o->column, "Column: 1-based number or header name (default 1)");
    cmd->add_flag("--header", o->header, "The first line is a header");
    cmd->add_option("--country", o->country, "Country for numbers without +country code (e.g. US)");
    cmd->add_flag("--raw", o->raw, "Send raw numbers for the server to normalize (default: hash here)");
    cmd->add_option("--batch", o->batch, "Rows per batch (1..10000)");
    cmd->add_flag("--wait", o->wait, "Wait until matching is done");
  };
  CLI::App* up = aud->add_subcommand("upload", "Add the numbers in a file to the audience");
  upload_options(up);
  up->add_flag("--replace", o->replace, "Replace everyone in the audience with this file");
  on(up, [o] { return Upload(*o, o->replace ? "/replace" : ""); });
  CLI::App* rm = aud->add_subcommand("remove", "Remove the numbers in a file from the audience");
  upload_options(rm);
  on(rm, [o] { return Upload(*o, "/remove"); });

  CLI::App* camp = ads->add_subcommand("campaign", "Campaigns");
  camp->require_subcommand(1);
  CLI::App* cc = camp->add_subcommand("create", "Create a campaign");
  cc->add_option("--name", o->name, "Name")->required();
  cc->add_option("--title", o->title, "Ad title")->required();
  cc->add_option("--text", o->text, "Ad text")->required();
  cc->add_option("--link", o->link, "Link (https://...)")->required();
  cc->add_option("--include", o->include, "Audience ids to reach, comma-separated");
  cc->add_option("--exclude", o->exclude, "Audience ids to leave out, comma-separated");
  cc->add_option("--segment", o->segment, "Segment: active_messenger_users");
  cc->add_option("--budget", o->budget, "Impression budget")->required();
  cc->add_option("--frequency-cap", o->frequency_cap, "Impressions per person per day (default 1)");
  on(cc, [o] { return CreateCampaign(*o); });
  on(camp->add_subcommand("list", "Your campaigns"), [o] { return Print(Ads(*o, "GET", "/v1/ads/campaigns")); });
  for (const char* name : {"show", "pause", "resume", "delete"}) {
    CLI::App* cmd = camp->add_subcommand(name, std::string(name) + " a campaign");
    cmd->add_option("id", o->id, "Campaign id")->required();
    std::string action = name;
    on(cmd, [o, action] {
      std::string path = "/v1/ads/campaigns/" + std::to_string(o->id);
      if (action == "show") return Print(Ads(*o, "GET", path));
      if (action == "delete") return Print(Ads(*o, "DELETE", path));
      json body = {{"status", action == "pause" ? "paused" : "active"}};
      return Print(Ads(*o, "POST", path + "/status", &body));
    });
  }

  // The social user's side: the feed with its ads.
  CLI::App* feed = app.add_subcommand("feed", "Your social feed: posts, ads and why you see them");
  feed->require_subcommand(1);
  feed->add_option("--server", o->server, "Server address host:port (default $TANDEM_SOCIAL_SERVER)");
  feed->add_option("--token", o->token, "Social session token (default $TANDEM_SOCIAL_TOKEN)");
  auto social_call = [o](const std::string& method, const std::string& target, const json* body) {
    std::string server = o->server.empty() ? EnvOr("TANDEM_SOCIAL_SERVER", "127.0.0.1:8080") : o->server;
    std::string token = o->token.empty() ? EnvOr("TANDEM_SOCIAL_TOKEN", "") : o->token;
    return Call(server, token, method, target, body, "tandem feed");
  };
  CLI::App* post = feed->add_subcommand("post", "Write a post");
  post->add_option("text", o->text, "Text")->required();
  on(post, [o, social_call] {
    json body = {{"text", o->text}};
    return Print(social_call("POST", "/v1/social/posts", &body));
  });
  CLI::App* fshow = feed->add_subcommand("show", "Show your feed (JSON)");
  fshow->add_option("--limit", o->limit, "Posts (1..100)");
  on(fshow, [o, social_call] {
    return Print(social_call("GET", "/v1/social/feed?limit=" + std::to_string(o->limit), nullptr));
  });
  CLI::App* why = feed->add_subcommand("why", "Why am I seeing this ad?");
  why->add_option("impression", o->id, "The ad's impression_id")->required();
  on(why, [o, social_call] {
    auto res = social_call("GET", "/v1/social/ads/" + std::to_string(o->id) + "/why", nullptr);
    if (!res) return 1;
    std::cout << (*res)["text"].get<std::string>() << "\n";
    return 0;
  });
}

}  // namespace tandem::app
