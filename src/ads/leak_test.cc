// Unmatched hashes are never persisted: after uploads with many
// non-matching rows (both schemas, all session kinds, a rejected batch and
// a restart with a batch still queued), the social database files, the log
// file and the temporary directory contain none of the unmatched hashes,
// neither as hex nor as raw digest bytes nor as the 8-byte index keys.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ads/test_util.h"
#include "common/log.h"

namespace tandem::ads {
namespace {

namespace fs = std::filesystem;
using testing::AdsWorld;

std::string Phone(int i) { return social::testing::TestPhone(i, 263); }

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(AdsLeakTest, UnmatchedHashesLeaveNoTrace) {
  fs::path dir = fs::temp_directory_path() / ("ads_leak_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "tmp");
  // SQLite and anything else that makes temporary files puts them here.
  ::setenv("TMPDIR", (dir / "tmp").c_str(), 1);
  ::setenv("SQLITE_TMPDIR", (dir / "tmp").c_str(), 1);
  ASSERT_TRUE(log::SetOutputFile((dir / "server.log").string()));
  log::SetLevel(log::Level::kDebug);

  std::vector<std::string> unmatched;
  for (int i = 0; i < 3000; ++i) unmatched.push_back(Phone(3000 + i));
  {
    AdsWorld w(AdsWorld::TestOptions(), (dir / "social.db").string());
    std::vector<std::string> matched;
    for (int i = 1; i <= 40; ++i) {
      auto u = w.social.AddUser(Phone(i));
      ASSERT_TRUE(w.social.service->UpdateProfile(u, std::nullopt, true).ok());
      matched.push_back(Phone(i));
    }
    auto adv = w.NewAdvertiser();
    auto a1 = w.NewAudience(adv);
    auto a2 = w.NewAudience(adv);
    std::vector<std::string> list = matched;
    list.insert(list.end(), unmatched.begin(), unmatched.begin() + 2000);
    ASSERT_TRUE(w.UploadAll(adv, a1, SessionKind::kAdd, list, 700).ok());
    // Raw numbers (normalized and hashed on our side).
    std::vector<std::string> raw(unmatched.begin() + 2000, unmatched.begin() + 2500);
    raw.push_back(matched[0]);
    ASSERT_TRUE(w.UploadAll(adv, a2, SessionKind::kAdd, raw, 100, Schema::kPhone, "US").ok());
    ASSERT_TRUE(
        w.UploadAll(adv, a1, SessionKind::kRemove, {unmatched.begin() + 2500, unmatched.begin() + 2700})
            .ok());
    ASSERT_TRUE(
        w.UploadAll(adv, a2, SessionKind::kReplace, {unmatched.begin() + 2700, unmatched.begin() + 2900})
            .ok());
    // A rejected batch (one malformed row) with unmatched hashes in it.
    UploadRequest bad;
    bad.session_id = "bad";
    bad.batch_seq = 1;
    for (int i = 2900; i < 2950; ++i) bad.rows.push_back(testing::HashHex(unmatched[i]));
    bad.rows.push_back("zz");
    EXPECT_FALSE(w.ads->Upload(adv, a1, SessionKind::kAdd, bad).ok());
    w.ads->RunPending();
    EXPECT_EQ(w.Members(a1).size(), 40u);
    // A batch acknowledged but not yet matched when the process stops.
    UploadRequest pending;
    pending.session_id = "pending";
    pending.batch_seq = 1;
    for (int i = 2950; i < 3000; ++i) pending.rows.push_back(testing::HashHex(unmatched[i]));
    ASSERT_TRUE(w.ads->Upload(adv, a1, SessionKind::kAdd, pending).ok());
  }
  {
    // After a restart the interrupted session says so.
    AdsWorld w(AdsWorld::TestOptions(), (dir / "social.db").string());
    auto adv_audiences = w.ads->ListAudiences(1);
    ASSERT_TRUE(adv_audiences.ok());
    bool interrupted = false;
    for (const auto& s : (*adv_audiences)[0].sessions)
      interrupted |= s.session_id == "pending" && s.state == SessionState::kInterrupted;
    EXPECT_TRUE(interrupted);
  }
  log::SetOutputFile("");

  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) files.emplace_back(entry.path().string(), ReadAll(entry.path()));
  }
  ASSERT_GE(files.size(), 2u);
  bool db_seen = false, log_seen = false;
  for (const auto& [name, _] : files) {
    db_seen |= name.ends_with("social.db");
    log_seen |= name.ends_with("server.log");
  }
  EXPECT_TRUE(db_seen && log_seen);
  // Positive control: the scan does see what is stored (the registered
  // users' own numbers are in the accounts table).
  bool control_found = false;
  for (const auto& [name, content] : files) control_found |= content.find(Phone(1)) != std::string::npos;
  EXPECT_TRUE(control_found) << "the scan cannot see stored numbers";
  phone::PhoneHasher hasher;
  size_t checked = 0;
  for (const auto& number : unmatched) {
    phone::Digest d = hasher.Hash(number);
    std::string hex = phone::ToHex(d);
    std::string bytes(reinterpret_cast<const char*>(d.data()), d.size());
    std::string key = bytes.substr(0, 8);
    std::string digits = number.substr(1);
    for (const auto& [name, content] : files) {
      ASSERT_EQ(content.find(hex), std::string::npos) << number << " hex in " << name;
      ASSERT_EQ(content.find(bytes), std::string::npos) << number << " digest in " << name;
      ASSERT_EQ(content.find(key), std::string::npos) << number << " index key in " << name;
      ASSERT_EQ(content.find(digits), std::string::npos) << number << " raw number in " << name;
      ++checked;
    }
  }
  RecordProperty("checks", static_cast<int>(checked));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tandem::ads
