#include <gtest/gtest.h>

#include "social/posts.h"
#include "social/test_util.h"

namespace tandem::social {
namespace {

using testing::World;

TEST(SocialService, VerificationCreatesAccountAndToken) {
  World w;
  ASSERT_TRUE(w.service->StartVerification("(650) 253-0001", "US", testing::kTestAddress).ok());
  std::string code = w.sender.CodeFor("+16502530001");
  ASSERT_EQ(code.size(), 6u);
  auto wrong = w.service->CompleteVerification("+16502530001", "", code == "000000" ? "111111" : "000000",
                                               "A", testing::kTestAddress);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kUnauthenticated);
  auto s = w.service->CompleteVerification("+1 650 253 0001", "", code, "Alice", testing::kTestAddress);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->created);
  auto who = w.service->Authenticate(s->token);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(*who, s->user);
  EXPECT_EQ(w.service->Authenticate("nope").status().code(), absl::StatusCode::kUnauthenticated);
  // The code is single-use; a second login needs a new code and keeps the account.
  EXPECT_FALSE(w.service->CompleteVerification("+16502530001", "", code, "", testing::kTestAddress).ok());
  EXPECT_EQ(w.AddUser("+16502530001"), s->user);
  auto profile = w.service->GetProfile(s->user, true);
  ASSERT_TRUE(profile.ok());
  EXPECT_EQ(profile->display_name, "Alice");
  EXPECT_EQ(profile->phone, "+16502530001");
  // Tokens are stored only hashed.
  auto rows = w.db->DatabaseForTesting().Query("SELECT token_hash FROM sessions");
  ASSERT_TRUE(rows.ok());
  for (const auto& r : *rows) EXPECT_NE(r.Bytes(0), s->token);
}

TEST(SocialService, VerificationLimitsAttemptsAndExpires) {
  World w;
  ASSERT_TRUE(w.service->StartVerification("+16502530002", "", testing::kTestAddress).ok());
  std::string code = w.sender.CodeFor("+16502530002");
  std::string bad = code == "123456" ? "654321" : "123456";
  for (int i = 0; i < 5; ++i)
    EXPECT_FALSE(w.service->CompleteVerification("+16502530002", "", bad, "", testing::kTestAddress).ok());
  EXPECT_EQ(
      w.service->CompleteVerification("+16502530002", "", code, "", testing::kTestAddress).status().code(),
      absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(w.service->StartVerification("+16502530002", "", testing::kTestAddress).ok());
  code = w.sender.CodeFor("+16502530002");
  w.clock.Advance(absl::Minutes(11));
  EXPECT_EQ(
      w.service->CompleteVerification("+16502530002", "", code, "", testing::kTestAddress).status().code(),
      absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(w.service->StartVerification("12", "US", testing::kTestAddress).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SocialService, FriendRequestsBlocksAndRemoval) {
  World w;
  UserId a = w.AddUser("+16502530011", "A"), b = w.AddUser("+16502530012", "B"),
         c = w.AddUser("+16502530013", "C");
  EXPECT_EQ(*w.service->RequestFriend(a, b), FriendRequestOutcome::kRequested);
  EXPECT_EQ(*w.service->RequestFriend(a, b), FriendRequestOutcome::kRequested);  // idempotent
  auto reqs = w.service->ListFriendRequests(b);
  ASSERT_EQ(reqs->incoming.size(), 1u);
  EXPECT_EQ(reqs->incoming[0].id, a);
  ASSERT_TRUE(w.service->AcceptFriend(b, a).ok());
  EXPECT_EQ(w.service->RequestFriend(a, b).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(w.service->ListFriends(a)->size(), 1u);
  EXPECT_EQ(w.service->AcceptFriend(b, c).code(), absl::StatusCode::kNotFound);
  // Crossing requests make a friendship.
  EXPECT_EQ(*w.service->RequestFriend(c, a), FriendRequestOutcome::kRequested);
  EXPECT_EQ(*w.service->RequestFriend(a, c), FriendRequestOutcome::kFriends);
  {
    PurposeView v = w.db->View(Purpose::kFriendSuggestions);
    EXPECT_EQ(v.Friends(a).size(), 2u);
  }
  // Blocking ends the friendship and forbids new requests either way.
  ASSERT_TRUE(w.service->Block(c, a).ok());
  EXPECT_EQ(w.service->ListFriends(a)->size(), 1u);
  EXPECT_EQ(w.service->RequestFriend(a, c).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(w.service->RequestFriend(c, a).status().code(), absl::StatusCode::kFailedPrecondition);
  {
    PurposeView v = w.db->View(Purpose::kFriendSuggestions);
    EXPECT_TRUE(v.Blocked(a, c));
    EXPECT_TRUE(v.Blocked(c, a));
  }
  ASSERT_TRUE(w.service->Unblock(c, a).ok());
  EXPECT_EQ(w.service->Unblock(c, a).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(w.service->RemoveFriend(b, a).ok());
  EXPECT_EQ(w.service->RemoveFriend(b, a).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(w.service->RequestFriend(a, a).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.service->RequestFriend(a, 999).status().code(), absl::StatusCode::kNotFound);
}

TEST(SocialService, AddressBookNormalizesAndReportsRows) {
  World w;
  UserId a = w.AddUser("+16502530021");
  auto upload = ParseAddressBookUpload(
      R"({"region":"US","entries":["(650) 253-0022","+16502530022","12","not a number","+49 30 901820"]})");
  ASSERT_TRUE(upload.ok()) << upload.status();
  auto r = w.service->ReplaceAddressBook(a, *upload);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stored, 2u);  // the duplicate counts once
  ASSERT_EQ(r->rejected.size(), 2u);
  EXPECT_EQ(r->rejected[0].index, 2u);
  EXPECT_EQ(r->rejected[1].index, 3u);
  EXPECT_EQ(r->rejected[1].reason, "not_a_number");
  EXPECT_EQ(*w.service->GetAddressBook(a), (std::vector<std::string>{"+16502530022", "+4930901820"}));
  // Replacing: the new upload is the whole book.
  auto second = ParseAddressBookUpload(R"({"entries":["+16502530099"]})");
  ASSERT_TRUE(w.service->ReplaceAddressBook(a, *second).ok());
  EXPECT_EQ(*w.service->GetAddressBook(a), (std::vector<std::string>{"+16502530099"}));
  {
    PurposeView v = w.db->View(Purpose::kSecurity);
    EXPECT_EQ(v.AddressBookOwners(PhoneKeyFromE164("+16502530099")).size(), 1u);
    EXPECT_TRUE(v.AddressBookOwners(PhoneKeyFromE164("+16502530022")).empty());
  }
  ASSERT_TRUE(w.service->DeleteAddressBook(a).ok());
  EXPECT_TRUE(w.service->GetAddressBook(a)->empty());
}

TEST(AddressBook, MalformedUploadsAreRejectedWhole) {
  for (const char* body :
       {"", "[]", "{\"entries\":5}", "{\"entries\":[1]}", "{\"region\":\"XX\",\"entries\":[]}",
        "{\"region\":7,\"entries\":[]}", "{\"entries\":[\"+1\"", "{}"}) {
    EXPECT_EQ(ParseAddressBookUpload(body).status().code(), absl::StatusCode::kInvalidArgument) << body;
  }
  std::string big = "{\"entries\":[";
  for (size_t i = 0; i <= kMaxAddressBookEntries; ++i) big += (i ? ",\"1\"" : "\"1\"");
  big += "]}";
  EXPECT_FALSE(ParseAddressBookUpload(big).ok());
}

TEST(AddressBook, ContactFiles) {
  auto f = ParseContactFile("name,phone\nAl,+16502530001\n\"Bo, Jr\",650 253 0002\nbad \"quote\n", true, 1);
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->numbers.size(), 2u);
  EXPECT_EQ(f->numbers[1].number, "650 253 0002");
  EXPECT_EQ(f->numbers[1].line, 3u);
  ASSERT_EQ(f->errors.size(), 1u);
  EXPECT_EQ(f->errors[0].first, 4u);
  auto named = ParseContactFile("name,mobile\nA,+16502530001\n", true, 0, "mobile");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->numbers[0].number, "+16502530001");
  EXPECT_FALSE(ParseContactFile("name,mobile\n", true, 0, "phone").ok());
  auto lines = ParseContactFile("+16502530001\r\n\n  \n(650) 253-0002\n", false, 0);
  ASSERT_EQ(lines->numbers.size(), 2u);
  EXPECT_EQ(lines->numbers[0].number, "+16502530001");
}

TEST(SocialService, IndexIsRebuiltFromTheDatabase) {
  std::string path = ::testing::TempDir() + "/social_rebuild.db";
  std::remove(path.c_str());
  UserId a, b;
  {
    World w(path);
    a = w.AddUser("+16502530031");
    b = w.AddUser("+16502530032");
    w.MakeFriends(a, b);
    ASSERT_TRUE(w.service->UpdateProfile(b, std::nullopt, true).ok());
    ASSERT_TRUE(
        w.service->ReplaceAddressBook(a, *ParseAddressBookUpload(R"({"entries":["+16502530032"]})")).ok());
    w.Apply(testing::Numbered(
        {testing::Linked("m1", "+16502530031"), testing::Objection("m1", Purpose::kAds, true)}));
  }
  World w(path);
  {
    PurposeView v = w.db->View(Purpose::kAds);
    EXPECT_EQ(v.Friends(a).size(), 1u);
    EXPECT_EQ(v.UserAtPhone(PhoneKeyFromE164("+16502530032")).user, b);
    EXPECT_EQ(v.AddressBook(a).size(), 1u);
    EXPECT_FALSE(v.MessengerLinked(a));  // objected to ads
  }
  PurposeView security = w.db->View(Purpose::kSecurity);
  EXPECT_TRUE(security.MessengerLinked(a));  // security cannot be objected to
}

// The operator path: accounts, address books and friendships in one
// transaction, the same in the index and after a rebuild, refused whole
// when anything is wrong.
TEST(SocialService, ImportedAccountsArriveWholeWithBooksAndFriendships) {
  std::string path = ::testing::TempDir() + "/social_import.db";
  std::remove(path.c_str());
  std::vector<Session> sessions;
  {
    World w(path);
    UserId existing = w.AddUser("+16502530041");
    auto before = w.db->DatabaseForTesting().QueryOne("SELECT COUNT(*) FROM accounts");
    using Imported = SocialService::ImportedAccount;
    const std::vector<std::vector<Imported>> refused = {
        {{"+16502530042", "A", {}}, {"+16502530041", "B", {}}},  // has an account
        {{"+16502530042", "A", {}}, {"+16502530042", "B", {}}},  // twice
        {{"(650) 253-0042", "A", {}}},                           // not E.164
        {{"+16502530042", "A\x1b[2J", {}}},                      // control character
        {{"+16502530042", "A", {"12"}}},                         // bad address-book entry
    };
    for (const auto& batch : refused) EXPECT_FALSE(w.service->ImportAccounts(batch, {}).ok());
    EXPECT_FALSE(w.service->ImportAccounts({{"+16502530042", "A", {}}}, {{0, 0}}).ok());
    EXPECT_FALSE(w.service->ImportAccounts({{"+16502530042", "A", {}}}, {{0, 1}}).ok());
    EXPECT_EQ(w.db->DatabaseForTesting().QueryOne("SELECT COUNT(*) FROM accounts")->Int(0), before->Int(0));

    auto done = w.service->ImportAccounts({{"+16502530042", "Dana", {"+16502530043", "+16502530041"}},
                                           {"+16502530043", "Erin", {"+16502530042"}},
                                           {"+16502530044", "Farid", {}}},
                                          {{0, 1}, {2, 1}});
    ASSERT_TRUE(done.ok()) << done.status();
    sessions = *done;
    ASSERT_EQ(sessions.size(), 3u);
    EXPECT_EQ(*w.service->Authenticate(sessions[0].token), sessions[0].user);
    EXPECT_EQ(w.service->GetProfile(sessions[1].user, false)->display_name, "Erin");
    PurposeView v = w.db->View(Purpose::kFriendSuggestions);
    EXPECT_EQ(v.Friends(sessions[1].user).size(), 2u);
    EXPECT_EQ(v.AddressBook(sessions[0].user).size(), 2u);
    EXPECT_FALSE(v.DiscoverableByPhone(sessions[0].user));
    EXPECT_EQ(v.AddressBookOwners(PhoneKeyFromE164("+16502530041")).size(), 1u);
    (void)existing;
  }
  World w(path);
  PurposeView v = w.db->View(Purpose::kFriendSuggestions);
  EXPECT_EQ(v.Friends(sessions[1].user).size(), 2u);
  EXPECT_EQ(v.AddressBook(sessions[0].user).size(), 2u);
  EXPECT_EQ(*w.service->Authenticate(sessions[2].token), sessions[2].user);
}

// Display names and posts are shown to other people: control characters,
// bidirectional overrides and broken UTF-8 are refused with the field named,
// and nothing is stored.
TEST(SocialService, DisplayNamesAndPostsRefuseControlCharacters) {
  World w;
  UserId u = w.AddUser("+16502530071", "Ann");
  for (std::string bad : std::vector<std::string>{"Ann\r\nBob", "Ann\x1b[2J", "Ann\u0085", "\u202eloohcs",
                                                  "Ann\xff", "Ann\tB"}) {
    auto p = w.service->UpdateProfile(u, bad, std::nullopt);
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(std::string(p.status().message()).find("'display_name'"), std::string::npos) << p.status();
  }
  EXPECT_EQ(w.service->GetProfile(u, true)->display_name, "Ann");
  ASSERT_TRUE(w.service->StartVerification("+16502530072", "", testing::kTestAddress).ok());
  auto s = w.service->CompleteVerification("+16502530072", "", w.sender.CodeFor("+16502530072"), "B\u202eob",
                                           testing::kTestAddress);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      w.service->UpdateProfile(u, std::string("Ann-Marie \u00d8stergaard \U0001F600"), std::nullopt).ok());
  EXPECT_TRUE(w.service->UpdateProfile(u, std::string(""), std::nullopt).ok());

  auto posts = Posts::Create(*w.db, w.clock);
  ASSERT_TRUE(posts.ok()) << posts.status();
  for (std::string bad : std::vector<std::string>{"hi\rthere", "\x1b]0;owned\x07", "nul\x01", "\u202etxt",
                                                  "a\u2028b", "\xc0\xaf", ""}) {
    auto p = (*posts)->Create(u, bad);
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(std::string(p.status().message()).find("'text'"), std::string::npos) << p.status();
  }
  EXPECT_TRUE((*posts)->Timeline(u, 10)->empty());
  auto ok = (*posts)->Create(u, "First line\n\tsecond line, \"quoted\" <b>not markup</b>");
  ASSERT_TRUE(ok.ok()) << ok.status();
  auto again = (*posts)->Create(u, "another");
  ASSERT_TRUE(again.ok());
  EXPECT_GT(again->id, ok->id);
  auto timeline = (*posts)->Timeline(u, 10);
  ASSERT_EQ(timeline->size(), 2u);
  EXPECT_EQ((*timeline)[0].id, again->id);
  EXPECT_EQ((*timeline)[1].text, ok->text);
}

}  // namespace
}  // namespace tandem::social
