// The advertiser's command-line client for the ads HTTP API
// (docs/ads-api.md). The advertiser token is kept in the profile (`ads
// advertiser create` and `ads sign-in` store it); --token or
// $TANDEM_ADS_TOKEN override it. Social users see the ads in their
// timeline (`tandem timeline`, social_cli.cc).
//
// Uploads read a CSV file, normalize and hash the numbers here by default
// (SHA-256 of the E.164 digits), so raw numbers never leave this machine;
// --raw sends them as they are for the server to normalize.
#include "app/ads_cli.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/client_store.h"
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
  bool header = false, raw = false, replace = false, wait = false, print_token = false;
  int batch = 10'000;
  // campaigns
  std::string title, text, link, include, exclude, segment;
  int64_t budget = 0, frequency_cap = 1;
  int limit = 20;
};

// Every command of the group runs with the advertiser's session.
struct Ctx {
  std::shared_ptr<CliContext> cli;
  RoleSession session;
};

absl::StatusOr<json> Ads(const Ctx& c, const std::string& method, const std::string& target,
                         const json* body = nullptr) {
  return CallJson(c.session.server, c.session.token, method, target, body);
}

// Prints a result: JSON line, or `words` for people. The exit code.
int Done(const Ctx& c, const absl::StatusOr<json>& r, const std::string& kind, const std::string& words) {
  return PrintResult(*c.cli, r, kind, words);
}

std::string Thousands(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (n < 0 ? "-" : "") + out;
}

std::string SizeWords(const json& a) {
  if (a.contains("size") && a["size"].is_object()) {
    const json& size = a["size"];
    if (size.value("targetable", false)) return size.value("range", std::string()) + " people";
    return absl::StrCat(
        "too small to target (sizes are shown, and audiences targeted, from a noisy count of ",
        Thousands(size.value("threshold", int64_t{0})), " matched people)");
  }
  if (a.contains("size_note")) return "not shown: " + a["size_note"].get<std::string>();
  return "not known yet";
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
  std::cerr << "\r[" << std::string(filled, '#') << std::string(kWidth - filled, '.') << "] " << done << "/"
            << total << " rows" << std::flush;
  if (done == total) std::cerr << "\n";
}

int Upload(const Ctx& c, const AdsOptions& o, const std::string& path_suffix) {
  if (o.batch < 1 || o.batch > 10'000) {
    std::cerr << "tandem: --batch must be 1 to 10000\n";
    return 2;
  }
  if (!o.country.empty() && !phone::IsKnownRegion(o.country)) {
    std::cerr << "tandem: unknown country '" << o.country << "' (use an ISO code such as US)\n";
    return 2;
  }
  std::ifstream in(o.file);
  if (!in) {
    std::cerr << "tandem: cannot open " << o.file << "\n";
    return 2;
  }
  absl::StatusOr<CsvColumn> column = CsvColumn::Parse(o.column, o.header);
  if (!column.ok()) return Fail(column.status());
  CsvColumnReader reader(*std::move(column));
  std::vector<Row> rows;
  std::vector<std::pair<size_t, std::string>> problems;  // line, message
  std::string line;
  while (std::getline(in, line)) {
    absl::StatusOr<std::optional<CsvCell>> cell = reader.Next(line);
    if (!cell.ok()) {
      if (absl::IsNotFound(cell.status())) {
        std::cerr << "tandem: no column '" << reader.column().name << "' in the header of " << o.file << "\n";
      } else {
        std::cerr << "tandem: " << o.file << ": " << cell.status().message() << "\n";
      }
      return 2;
    }
    if (!cell->has_value()) continue;  // the header, or a blank line
    CsvCell& read = **cell;
    if (!read.value.ok()) {
      problems.emplace_back(read.line, absl::IsOutOfRange(read.value.status())
                                           ? absl::StrCat("no column ", reader.column().index + 1)
                                           : std::string(read.value.status().message()));
      continue;
    }
    rows.push_back({read.line, std::string(absl::StripAsciiWhitespace(*read.value))});
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
    std::cerr << "tandem: no valid rows in " << o.file << "\n";
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
    json body = {
        {"session", {{"session_id", sid}, {"batch_seq", b + 1}, {"last_batch_flag", b + 1 == batches}}},
        {"payload", {{"schema", o.raw ? "PHONE" : "PHONE_SHA256"}, {"data", data}}}};
    if (o.raw && !o.country.empty()) body["payload"]["country"] = o.country;
    auto res = Ads(c, "POST", target, &body);
    if (!res.ok()) {
      std::cerr << "tandem: " << res.status().message() << "\n";
      std::cerr << "tandem: batch " << b + 1 << " of " << batches << " failed; session " << sid
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
  for (size_t i = 0; i < shown; ++i)
    std::cerr << "line " << problems[i].first << ": " << problems[i].second << "\n";
  if (problems.size() > shown) std::cerr << "... and " << problems.size() - shown << " more invalid rows\n";
  if (c.cli->json) {
    JsonLine("upload", {{"audience_id", o.id},
                        {"rows", rows.size() + unreadable},
                        {"sent", upload.size()},
                        {"hashed", !o.raw},
                        {"invalid", problems.size()},
                        {"session_id", sid},
                        {"state", state}});
  } else {
    std::cout << "rows: " << rows.size() + unreadable << ", sent: " << upload.size()
              << (o.raw ? " raw" : " hashed") << ", invalid: " << problems.size() << ", session " << sid
              << ": " << state << (o.raw ? "" : " (only the hashes left this machine)") << "\n";
  }
  if (o.wait) {
    for (int i = 0; i < 600; ++i) {
      auto list = Ads(c, "GET", "/v1/ads/audiences");
      if (!list.ok()) return Fail(list.status());
      for (const auto& a : (*list)["audiences"]) {
        if (a["id"].get<int64_t>() == o.id && a["status"] != "matching" && a["status"] != "uploading") {
          if (c.cli->json) {
            JsonLine("audience_status", {{"audience_id", o.id}, {"status", a["status"]}});
          } else {
            std::cout << "audience " << o.id << ": " << a["status"].get<std::string>() << "\n";
          }
          return 0;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::cerr << "tandem: still matching; check with `"
              << c.cli->Command("ads audience show " + std::to_string(o.id)) << "`\n";
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

std::string CampaignWords(const json& c) {
  return absl::StrCat("campaign ", c.value("id", int64_t{0}), " \"", c.value("name", std::string()),
                      "\": ", c.value("status", std::string()), ", ",
                      Thousands(c.value("impressions", int64_t{0})), " of ",
                      Thousands(c.value("impression_budget", int64_t{0})), " impressions");
}

int CreateCampaign(const Ctx& c, const AdsOptions& o) {
  auto include = IdArray(o.include), exclude = IdArray(o.exclude);
  if (!include || !exclude) {
    return Fail(absl::InvalidArgumentError("--include and --exclude take audience ids separated by commas"));
  }
  json segments = json::array();
  for (absl::string_view s : absl::StrSplit(o.segment, ',', absl::SkipEmpty()))
    segments.push_back(std::string(s));
  json body = {{"name", o.name},
               {"creative", {{"title", o.title}, {"text", o.text}, {"link", o.link}}},
               {"targeting",
                {{"include_audiences", *include}, {"exclude_audiences", *exclude}, {"segments", segments}}},
               {"impression_budget", o.budget},
               {"frequency_cap_per_day", o.frequency_cap}};
  auto r = Ads(c, "POST", "/v1/ads/campaigns", &body);
  return Done(c, r, "campaign", r.ok() ? "created " + CampaignWords(*r) : "");
}

int ShowAudience(const Ctx& c, const AdsOptions& o) {
  auto a = Ads(c, "GET", "/v1/ads/audiences/" + std::to_string(o.id));
  if (!a.ok()) return Fail(a.status());
  if (c.cli->json) {
    JsonLine("audience", *a);
    return 0;
  }
  std::cout << "audience " << (*a)["id"] << " \"" << (*a)["name"].get<std::string>()
            << "\": " << (*a)["status"].get<std::string>() << "\n";
  std::cout << "size: " << SizeWords(*a) << "\n";
  for (const auto& s : (*a)["sessions"]) {
    std::cout << "upload " << s["session_id"].get<std::string>() << " (" << s["kind"].get<std::string>()
              << "): " << s["state"].get<std::string>() << ", " << s["rows"] << " rows, " << s["invalid_rows"]
              << " invalid\n";
  }
  return 0;
}

// What the group's commands share: the global options, the group's and the
// commands' options (one object: one command runs), and the exit code.
struct AdsEnv {
  std::shared_ptr<CliContext> cli;
  std::shared_ptr<AdsOptions> o;
  int* exit_code = nullptr;
};

using AdsRun = int (*)(const Ctx& c, const AdsOptions& o);

// Makes `cmd` run `run` with the advertiser's session (`signing_in`: no
// token needed yet).
void On(CLI::App& cmd, const AdsEnv& env, AdsRun run, bool signing_in = false) {
  cmd.callback([env, run, signing_in] {
    auto session = OpenRoleSession(*env.cli, "ads", env.o->server, env.o->token, signing_in,
                                   "ads sign-in --token TOKEN");
    if (!session.ok()) {
      *env.exit_code = Fail(session.status());
      return;
    }
    Ctx c{env.cli, *std::move(session)};
    *env.exit_code = run(c, *env.o);
  });
}

// Keeps an advertiser's token in the profile.
absl::Status KeepAdvertiser(const Ctx& c, const json& r) {
  if (!c.session.profile) return absl::OkStatus();
  RETURN_IF_ERROR(c.session.profile->SetSetting("ads.token", r.value("token", std::string())));
  RETURN_IF_ERROR(c.session.profile->SetSetting("ads.advertiser_id",
                                                std::to_string(r.value("advertiser_id", int64_t{0}))));
  return c.session.profile->SetSetting("ads.server", c.session.server);
}

int RunAdvertiserCreate(const Ctx& c, const AdsOptions& o) {
  json body = {{"name", o.name}};
  auto r = CallJson(c.session.server, o.admin_token, "POST", "/v1/ads/advertisers", &body);
  if (!r.ok()) return Fail(r.status());
  if (absl::Status st = KeepAdvertiser(c, *r); !st.ok()) return Fail(st);
  if (o.print_token) {
    std::cout << r->value("token", std::string()) << "\n";
    return 0;
  }
  if (c.cli->json) {
    JsonLine("advertiser", {{"advertiser_id", (*r)["advertiser_id"]},
                            {"name", (*r)["name"]},
                            {"profile", c.cli->ProfilePath()}});
    return 0;
  }
  std::cout << "created advertiser " << (*r)["advertiser_id"] << " \"" << r->value("name", std::string())
            << "\"; its token is kept in " << c.cli->ProfilePath() << " (print it with --print-token)\n";
  return 0;
}

void DefineAdvertiserCreate(CLI::App& cmd, const AdsEnv& env) {
  cmd.add_option("--name", env.o->name, "Business name")->required();
  cmd.add_option("--admin-token", env.o->admin_token, "The operator token (ads.admin_token)")->required();
  cmd.add_flag("--print-token", env.o->print_token, "Print the bare advertiser token (for scripts)");
  On(cmd, env, RunAdvertiserCreate, /*signing_in=*/true);
}

constexpr CommandSpec<AdsEnv> kAdvertiserCommands[] = {
    {"create", "Create an advertiser; its token is kept in the profile (--profile)", DefineAdvertiserCreate},
};

void DefineAdvertiser(CLI::App& cmd, const AdsEnv& env) { AddCommandGroup(cmd, kAdvertiserCommands, env); }

int RunSignIn(const Ctx& c, const AdsOptions&) {
  auto me = Ads(c, "GET", "/v1/ads/me");
  if (!me.ok()) return Fail(me.status());
  json r = {{"token", c.session.token}, {"advertiser_id", (*me)["advertiser_id"]}};
  if (absl::Status st = KeepAdvertiser(c, r); !st.ok()) return Fail(st);
  return Done(c, json{{"advertiser_id", (*me)["advertiser_id"]}}, "signed_in",
              absl::StrCat("signed in as advertiser ", me->value("advertiser_id", int64_t{0}),
                           "; the token is kept in ", c.cli->ProfilePath()));
}

void DefineSignIn(CLI::App& cmd, const AdsEnv& env) {
  cmd.add_option("--token", env.o->token, "The advertiser token")->required();
  On(cmd, env, RunSignIn, /*signing_in=*/true);
}

int RunMe(const Ctx& c, const AdsOptions&) {
  auto r = Ads(c, "GET", "/v1/ads/me");
  if (!r.ok()) return Fail(r.status());
  const json& left = (*r)["budget_today"];
  return Done(c, r, "advertiser",
              absl::StrCat("advertiser ", r->value("advertiser_id", int64_t{0}), ": today ",
                           left.value("audience_creations_left", 0), " audience creations and ",
                           left.value("size_looks_left", 0), " looks at new audience sizes left"));
}

void DefineMe(CLI::App& cmd, const AdsEnv& env) { On(cmd, env, RunMe); }

int RunAudienceCreate(const Ctx& c, const AdsOptions& o) {
  json body = {{"name", o.name}, {"description", o.description}};
  auto r = Ads(c, "POST", "/v1/ads/audiences", &body);
  return Done(
      c, r, "audience",
      r.ok() ? absl::StrCat("created audience ", r->value("id", int64_t{0}), " \"", o.name,
                            "\"; add people with `",
                            c.cli->Command(absl::StrCat("ads audience upload ", r->value("id", int64_t{0}),
                                                        " FILE.csv --country US --wait")),
                            "`")
             : "");
}

void DefineAudienceCreate(CLI::App& cmd, const AdsEnv& env) {
  cmd.add_option("--name", env.o->name, "Name")->required();
  cmd.add_option("--description", env.o->description, "Description");
  On(cmd, env, RunAudienceCreate);
}

int RunAudienceList(const Ctx& c, const AdsOptions&) {
  auto list = Ads(c, "GET", "/v1/ads/audiences");
  if (!list.ok()) return Fail(list.status());
  if (c.cli->json) {
    for (const auto& a : (*list)["audiences"]) JsonLine("audience", a);
    return 0;
  }
  Table t({"ID", "STATUS", "NAME", "SIZE"});
  for (const auto& a : (*list)["audiences"]) {
    t.Add({std::to_string(a.value("id", int64_t{0})), a.value("status", std::string()),
           a.value("name", std::string()), SizeWords(a)});
  }
  if (t.size() == 0) {
    std::cout << "no audiences yet\n";
  } else {
    t.Print(std::cout);
  }
  return 0;
}

void DefineAudienceList(CLI::App& cmd, const AdsEnv& env) { On(cmd, env, RunAudienceList); }

void DefineAudienceShow(CLI::App& cmd, const AdsEnv& env) {
  cmd.add_option("id", env.o->id, "Audience id")->required();
  On(cmd, env, ShowAudience);
}

int RunAudienceDelete(const Ctx& c, const AdsOptions& o) {
  return Done(c, Ads(c, "DELETE", "/v1/ads/audiences/" + std::to_string(o.id)), "audience_deleted",
              absl::StrCat("deleted audience ", o.id));
}

void DefineAudienceDelete(CLI::App& cmd, const AdsEnv& env) {
  cmd.add_option("id", env.o->id, "Audience id")->required();
  On(cmd, env, RunAudienceDelete);
}

// The options `upload` and `remove` share.
void AddUploadOptions(CLI::App& cmd, AdsOptions& o) {
  cmd.add_option("id", o.id, "Audience id")->required();
  cmd.add_option("file", o.file, "CSV file (or one number per line)")->required();
  cmd.add_option("--column", o.column, "Column: 1-based number or header name (default 1)");
  cmd.add_flag("--header", o.header, "The first line is a header");
  cmd.add_option("--country", o.country, "Country for numbers without +country code (e.g. US)");
  cmd.add_flag("--raw", o.raw, "Send raw numbers for the server to normalize (default: hash here)");
  cmd.add_option("--batch", o.batch, "Rows per batch (1..10000)");
  cmd.add_flag("--wait", o.wait, "Wait until matching is done");
}

void DefineAudienceUpload(CLI::App& cmd, const AdsEnv& env) {
  AddUploadOptions(cmd, *env.o);
  cmd.add_flag("--replace", env.o->replace, "Replace everyone in the audience with this file");
  On(cmd, env, [](const Ctx& c, const AdsOptions& o) { return Upload(c, o, o.replace ? "/replace" : ""); });
}

void DefineAudienceRemove(CLI::App& cmd, const AdsEnv& env) {
  AddUploadOptions(cmd, *env.o);
  On(cmd, env, [](const Ctx& c, const AdsOptions& o) { return Upload(c, o, "/remove"); });
}

constexpr CommandSpec<AdsEnv> kAudienceCommands[] = {
    {"create", "Create an empty audience", DefineAudienceCreate},
    {"list", "Your audiences and their status", DefineAudienceList},
    {"show", "Status and size range (the first look at a new version uses budget)", DefineAudienceShow},
    {"delete", "Delete the audience and its memberships", DefineAudienceDelete},
    {"upload", "Add the numbers in a file to the audience", DefineAudienceUpload},
    {"remove", "Remove the numbers in a file from the audience", DefineAudienceRemove},
};

void DefineAudience(CLI::App& cmd, const AdsEnv& env) { AddCommandGroup(cmd, kAudienceCommands, env); }

void DefineCampaignCreate(CLI::App& cmd, const AdsEnv& env) {
  AdsOptions& o = *env.o;
  cmd.add_option("--name", o.name, "Name")->required();
  cmd.add_option("--title", o.title, "Ad title")->required();
  cmd.add_option("--text", o.text, "Ad text")->required();
  cmd.add_option("--link", o.link, "Link (https://...)")->required();
  cmd.add_option("--include", o.include, "Audience ids to reach, comma-separated");
  cmd.add_option("--exclude", o.exclude, "Audience ids to leave out, comma-separated");
  cmd.add_option("--segment", o.segment, "Segment: active_messenger_users");
  cmd.add_option("--budget", o.budget, "Impression budget")->required();
  cmd.add_option("--frequency-cap", o.frequency_cap, "Impressions per person per day (default 1)");
  On(cmd, env, CreateCampaign);
}

int RunCampaignList(const Ctx& c, const AdsOptions&) {
  auto list = Ads(c, "GET", "/v1/ads/campaigns");
  if (!list.ok()) return Fail(list.status());
  if (c.cli->json) {
    for (const auto& x : (*list)["campaigns"]) JsonLine("campaign", x);
    return 0;
  }
  Table t({"ID", "STATUS", "NAME", "IMPRESSIONS", "BUDGET"});
  for (const auto& x : (*list)["campaigns"]) {
    t.Add({std::to_string(x.value("id", int64_t{0})), x.value("status", std::string()),
           x.value("name", std::string()), Thousands(x.value("impressions", int64_t{0})),
           Thousands(x.value("impression_budget", int64_t{0}))});
  }
  if (t.size() == 0) {
    std::cout << "no campaigns yet\n";
  } else {
    t.Print(std::cout);
  }
  return 0;
}

void DefineCampaignList(CLI::App& cmd, const AdsEnv& env) { On(cmd, env, RunCampaignList); }

std::string CampaignPath(const AdsOptions& o) { return "/v1/ads/campaigns/" + std::to_string(o.id); }

int RunCampaignShow(const Ctx& c, const AdsOptions& o) {
  absl::StatusOr<json> r = Ads(c, "GET", CampaignPath(o));
  if (!r.ok()) return Fail(r.status());
  if (c.cli->json) return Done(c, r, "campaign", CampaignWords(*r));
  std::cout << CampaignWords(*r) << "\n";
  const json& cr = (*r)["creative"];
  std::cout << "ad: " << cr.value("title", std::string()) << " - " << cr.value("text", std::string()) << " ("
            << cr.value("link", std::string()) << ")\n";
  const json& tg = (*r)["targeting"];
  std::cout << "reaches audiences " << tg["include_audiences"].dump() << ", leaves out "
            << tg["exclude_audiences"].dump() << ", segments " << tg["segments"].dump() << "; at most "
            << r->value("frequency_cap_per_day", 0) << " a day per person\n";
  return 0;
}

int SetCampaignStatus(const Ctx& c, const AdsOptions& o, const char* status) {
  json body = {{"status", status}};
  absl::StatusOr<json> r = Ads(c, "POST", CampaignPath(o) + "/status", &body);
  if (!r.ok()) return Fail(r.status());
  return Done(c, r, "campaign", CampaignWords(*r));
}

int RunCampaignDelete(const Ctx& c, const AdsOptions& o) {
  return Done(c, Ads(c, "DELETE", CampaignPath(o)), "campaign_deleted",
              absl::StrCat("deleted campaign ", o.id));
}

// `show`, `pause`, `resume` and `delete` take the campaign's id.
void DefineCampaignAction(CLI::App& cmd, const AdsEnv& env, AdsRun run) {
  cmd.add_option("id", env.o->id, "Campaign id")->required();
  On(cmd, env, run);
}

void DefineCampaignShow(CLI::App& cmd, const AdsEnv& env) { DefineCampaignAction(cmd, env, RunCampaignShow); }

void DefineCampaignPause(CLI::App& cmd, const AdsEnv& env) {
  DefineCampaignAction(cmd, env,
                       [](const Ctx& c, const AdsOptions& o) { return SetCampaignStatus(c, o, "paused"); });
}

void DefineCampaignResume(CLI::App& cmd, const AdsEnv& env) {
  DefineCampaignAction(cmd, env,
                       [](const Ctx& c, const AdsOptions& o) { return SetCampaignStatus(c, o, "active"); });
}

void DefineCampaignDelete(CLI::App& cmd, const AdsEnv& env) {
  DefineCampaignAction(cmd, env, RunCampaignDelete);
}

constexpr CommandSpec<AdsEnv> kCampaignCommands[] = {
    {"create", "Create a campaign", DefineCampaignCreate},
    {"list", "Your campaigns", DefineCampaignList},
    {"show", "show a campaign", DefineCampaignShow},
    {"pause", "pause a campaign", DefineCampaignPause},
    {"resume", "resume a campaign", DefineCampaignResume},
    {"delete", "delete a campaign", DefineCampaignDelete},
};

void DefineCampaign(CLI::App& cmd, const AdsEnv& env) { AddCommandGroup(cmd, kCampaignCommands, env); }

constexpr CommandSpec<AdsEnv> kAdsCommands[] = {
    {"advertiser", "Advertiser accounts (operator)", DefineAdvertiser},
    {"sign-in", "Keep an advertiser token (from the operator) in the profile", DefineSignIn},
    {"me", "Your advertiser id and what is left of today's budget", DefineMe},
    {"audience", "Customer-list audiences", DefineAudience},
    {"campaign", "Campaigns", DefineCampaign},
};

}  // namespace

void AddAdsCommands(CLI::App& app, std::shared_ptr<CliContext> cli, int* exit_code) {
  AdsEnv env{std::move(cli), std::make_shared<AdsOptions>(), exit_code};
  CLI::App& ads = AddSubcommand(app, "ads", "Advertise: customer-list audiences and campaigns");
  ads.add_option("--server", env.o->server,
                 "Server host:port for ads only (default: --server, $TANDEM_ADS_SERVER, $TANDEM_SERVER, the "
                 "profile's)");
  ads.add_option("--token", env.o->token, "Advertiser token (default $TANDEM_ADS_TOKEN, else the profile's)");
  AddCommandGroup(ads, kAdsCommands, env);
}

}  // namespace tandem::app
