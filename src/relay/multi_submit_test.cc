// Multi-recipient submissions: one body stored once for every device, the
// device lists checked against the accounts' devices, acks per device, and
// the body's deletion with its last copy or at expiry.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "relay/test_util.h"

namespace tandem::relay {
namespace {

class MultiSubmitTest : public RelayTest {
 protected:
  void SetUp() override {
    options_.writer.purge_delay = absl::ZeroDuration();
    RelayTest::SetUp();
  }

  struct Member {
    std::string number;
    Credentials device;
  };
  Member Add(const std::string& number) { return {number, Register(number)}; }

  // A companion device of `m`'s account (registration id 7).
  Credentials Link(const Member& m) {
    auto linked = accounts().AddLinkedDevice(m.device.account_id, 7);
    EXPECT_TRUE(linked.ok()) << linked.status();
    return linked.ok() ? *linked : Credentials{};
  }

  static pb::RecipientDevices To(const std::string& number, std::vector<uint32_t> devices,
                                 uint32_t registration_id = 0) {
    pb::RecipientDevices r;
    r.set_number(number);
    for (uint32_t d : devices) {
      pb::DeviceCopy* c = r.add_devices();
      c->set_device_id(d);
      c->set_registration_id(registration_id);
    }
    return r;
  }

  static pb::MultiSubmit Group(const std::string& cmid, const std::string& body,
                               std::vector<pb::RecipientDevices> recipients) {
    pb::MultiSubmit m;
    m.set_client_message_id(cmid);
    m.set_type(pb::ENVELOPE_TYPE_SENDER_KEY_MESSAGE);
    m.set_body(body);
    for (auto& r : recipients) *m.add_recipients() = std::move(r);
    return m;
  }

  pb::ServerFrame Send(const std::shared_ptr<FakeConnection>& conn, uint64_t request_id,
                       const pb::MultiSubmit& m) {
    relay_->StreamForTesting().OnMessage(conn, EncodeMultiSubmit(request_id, m), true);
    for (;;) {  // the answer, past what the connection was sent anyway
      auto answer = conn->Next();
      EXPECT_TRUE(answer.has_value());
      if (!answer) return {};
      if (!answer->has_queue_empty() && !answer->has_deliver()) return *answer;
    }
  }

  // The next Deliver on `conn`, skipping QueueEmpty.
  pb::Envelope NextEnvelope(const std::shared_ptr<FakeConnection>& conn) {
    for (;;) {
      auto f = conn->Next();
      if (!f) return {};
      if (f->has_deliver()) return f->deliver().envelope();
    }
  }

  int64_t Bodies() { return Count("SELECT COUNT(*) FROM bodies"); }
  int64_t Envelopes() { return Count(kStoredCopiesSql); }
};

TEST_F(MultiSubmitTest, OneBodyIsStoredOnceAndReachesEveryDevice) {
  Member a = Add("+14155550101"), b = Add("+14155550102"), c = Add("+14155550103");
  Credentials c2 = Link(c);
  ASSERT_EQ(c2.device_id, 2u);
  auto sender = Connect(a.device);
  auto rb = Connect(b.device), rc1 = Connect(c.device), rc2 = Connect(c2);

  const std::string body(3000, 'g');
  pb::ServerFrame answer = Send(sender, 9, Group("g1", body, {To(b.number, {1}), To(c.number, {1, 2})}));
  ASSERT_TRUE(answer.has_submit_result()) << answer.DebugString();
  EXPECT_EQ(answer.request_id(), 9u);
  EXPECT_FALSE(answer.submit_result().duplicate());

  // Stored once: one body row that lists the three copies, which have no
  // rows of their own.
  EXPECT_EQ(Bodies(), 1);
  EXPECT_EQ(Envelopes(), 3);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 0);
  EXPECT_EQ(Count("SELECT length(recipients) FROM bodies"), 3 * 12);

  std::set<uint64_t> ids;
  for (auto* conn : {&rb, &rc1, &rc2}) {
    pb::Envelope e = NextEnvelope(*conn);
    EXPECT_EQ(e.ciphertext(), body);
    EXPECT_EQ(e.type(), pb::ENVELOPE_TYPE_SENDER_KEY_MESSAGE);
    EXPECT_EQ(e.sender_account_id(), a.device.account_id);
    EXPECT_EQ(e.server_timestamp_ms(), answer.submit_result().server_timestamp_ms());
    ids.insert(e.server_id());
  }
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(*ids.begin(), answer.submit_result().server_id());

  // Each device acknowledges its own copy; the body goes with the last.
  std::vector<uint64_t> sorted(ids.begin(), ids.end());
  Ack(rb, {sorted[0]});
  Ack(rc1, {sorted[1]});
  Flush();
  EXPECT_EQ(Envelopes(), 1);
  EXPECT_EQ(Bodies(), 1);
  // A device acknowledging another's copy changes nothing.
  Ack(rb, {sorted[2]});
  Flush();
  EXPECT_EQ(Envelopes(), 1);
  Ack(rc2, {sorted[2]});
  Flush();
  EXPECT_EQ(Envelopes(), 0);
  EXPECT_EQ(Bodies(), 0);
  EXPECT_EQ(relay_->WriterForTesting().bodies_stored(), 0u);
}

TEST_F(MultiSubmitTest, AResubmissionIsADuplicateAndStoresNothingMore) {
  Member a = Add("+14155550111"), b = Add("+14155550112");
  auto sender = Connect(a.device);
  pb::MultiSubmit m = Group("same", "body", {To(b.number, {1})});
  pb::ServerFrame first = Send(sender, 1, m);
  pb::ServerFrame again = Send(sender, 2, m);
  ASSERT_TRUE(again.has_submit_result());
  EXPECT_TRUE(again.submit_result().duplicate());
  EXPECT_EQ(again.submit_result().server_id(), first.submit_result().server_id());
  EXPECT_EQ(Bodies(), 1);
  EXPECT_EQ(Envelopes(), 1);
}

TEST_F(MultiSubmitTest, WrongDeviceListsAreAnsweredWithTheExactListsAndStoreNothing) {
  Member a = Add("+14155550121"), b = Add("+14155550122"), c = Add("+14155550123");
  Credentials a2 = Link(a);
  Link(b);
  Link(b);  // b has devices 1, 2, 3
  auto sender = Connect(a.device);

  // b: 3 missing, 5 extra; c: stale (registered with 42, not 41); a's own
  // sending device listed (extra) and its device 2 missing.
  pb::MultiSubmit m = Group("m1", "body", {To(b.number, {1, 2, 5}), To(c.number, {1}, 41)});
  pb::RecipientDevices self;
  self.set_account_id(a.device.account_id);
  self.add_devices()->set_device_id(1);
  *m.add_recipients() = self;
  pb::ServerFrame answer = Send(sender, 4, m);
  ASSERT_TRUE(answer.has_error()) << answer.DebugString();
  EXPECT_EQ(answer.error().code(), "failed_precondition");
  EXPECT_EQ(answer.error().client_message_id(), "m1");
  ASSERT_EQ(answer.error().mismatches_size(), 3);
  const pb::DeviceMismatch& mb = answer.error().mismatches(0);
  EXPECT_EQ(mb.number(), b.number);
  EXPECT_EQ(std::vector<uint32_t>(mb.missing().begin(), mb.missing().end()), std::vector<uint32_t>{3});
  EXPECT_EQ(std::vector<uint32_t>(mb.extra().begin(), mb.extra().end()), std::vector<uint32_t>{5});
  EXPECT_EQ(mb.stale_size(), 0);
  const pb::DeviceMismatch& mc = answer.error().mismatches(1);
  EXPECT_EQ(mc.number(), c.number);
  EXPECT_EQ(std::vector<uint32_t>(mc.stale().begin(), mc.stale().end()), std::vector<uint32_t>{1});
  EXPECT_EQ(mc.missing_size() + mc.extra_size(), 0);
  const pb::DeviceMismatch& ma = answer.error().mismatches(2);
  EXPECT_EQ(ma.account_id(), a.device.account_id);
  EXPECT_EQ(std::vector<uint32_t>(ma.missing().begin(), ma.missing().end()),
            std::vector<uint32_t>{a2.device_id});
  EXPECT_EQ(std::vector<uint32_t>(ma.extra().begin(), ma.extra().end()), std::vector<uint32_t>{1});
  EXPECT_EQ(Bodies(), 0);
  EXPECT_EQ(Envelopes(), 0);
  EXPECT_EQ(relay_->DirectoryForTesting().QueueDepth(b.device.account_id, 1), 0);

  // Corrected, it goes through: b on 1..3, c with its registration id, and
  // the sync copy to a's other device.
  pb::MultiSubmit fixed = Group("m1", "body", {To(b.number, {1, 2, 3}), To(c.number, {1}, 42)});
  pb::RecipientDevices own;
  own.set_account_id(a.device.account_id);
  own.add_devices()->set_device_id(a2.device_id);
  *fixed.add_recipients() = own;
  answer = Send(sender, 5, fixed);
  ASSERT_TRUE(answer.has_submit_result()) << answer.DebugString();
  EXPECT_EQ(Envelopes(), 5);
  EXPECT_EQ(Bodies(), 1);
}

TEST_F(MultiSubmitTest, MalformedSubmissionsGetPreciseErrorsAndStoreNothing) {
  Member a = Add("+14155550131"), b = Add("+14155550132");
  auto sender = Connect(a.device);
  struct Case {
    pb::MultiSubmit m;
    std::string code;
    std::string says;
  };
  std::vector<Case> cases;
  cases.push_back({Group("d", "body", {To(b.number, {1, 1})}), "invalid_argument", "more than once"});
  cases.push_back({Group("e", "", {To(b.number, {1})}), "invalid_argument", "no ciphertext"});
  cases.push_back({Group("f", "body", {To("+14155550199", {1})}), "not_found", "no account"});
  cases.push_back(
      {Group("g", "body", {To(b.number, {1}), To(b.number, {1})}), "invalid_argument", "named before"});
  cases.push_back({Group("h", "body", {To("4155550132", {1})}), "invalid_argument", "E.164"});
  cases.push_back({Group("i", std::string(kMaxCiphertextBytes + 1, 'x'), {To(b.number, {1})}),
                   "payload_too_large", "exceeds the limit"});
  cases.push_back({Group("j", "body", {}), "invalid_argument", "1..1024 recipients"});
  cases.push_back({Group("", "body", {To(b.number, {1})}), "invalid_argument", "client_message_id"});
  pb::MultiSubmit no_copies = Group("k", "body", {To(b.number, {})});
  cases.push_back({no_copies, "invalid_argument", "carries no device copies"});
  pb::MultiSubmit bad_type = Group("l", "body", {To(b.number, {1})});
  bad_type.set_type(static_cast<pb::EnvelopeType>(9));
  cases.push_back({bad_type, "invalid_argument", "unknown body type 9"});
  uint64_t request = 100;
  for (const Case& c : cases) {
    pb::ServerFrame answer = Send(sender, ++request, c.m);
    ASSERT_TRUE(answer.has_error()) << c.says << ": " << answer.DebugString();
    EXPECT_EQ(answer.error().code(), c.code) << c.says;
    EXPECT_NE(answer.error().message().find(c.says), std::string::npos) << answer.error().message();
    EXPECT_EQ(answer.request_id(), request);
  }
  EXPECT_EQ(Bodies(), 0);
  EXPECT_EQ(Envelopes(), 0);
  EXPECT_EQ(relay_->DirectoryForTesting().QueueDepth(b.device.account_id, 1), 0);
}

TEST_F(MultiSubmitTest, CopiesWithTheirOwnCiphertextGoToEachDeviceAndNeedNoBody) {
  Member a = Add("+14155550141"), b = Add("+14155550142");
  Credentials a2 = Link(a);
  Credentials b2 = Link(b);
  auto sender = Connect(a.device);
  auto rb1 = Connect(b.device), rb2 = Connect(b2), ra2 = Connect(a2);
  pb::MultiSubmit m;
  m.set_client_message_id("one-to-one");
  auto* rb = m.add_recipients();
  rb->set_number(b.number);
  for (uint32_t d : {1u, 2u}) {
    pb::DeviceCopy* c = rb->add_devices();
    c->set_device_id(d);
    c->set_ciphertext(absl::StrCat("for b", d));
    c->set_type(pb::ENVELOPE_TYPE_PREKEY_MESSAGE);
  }
  auto* self = m.add_recipients();
  self->set_number(a.number);
  pb::DeviceCopy* sync = self->add_devices();
  sync->set_device_id(a2.device_id);
  sync->set_ciphertext("sync copy");
  sync->set_type(pb::ENVELOPE_TYPE_SIGNAL_MESSAGE);
  ASSERT_TRUE(Send(sender, 1, m).has_submit_result());
  EXPECT_EQ(Bodies(), 0);
  EXPECT_EQ(NextEnvelope(rb1).ciphertext(), "for b1");
  EXPECT_EQ(NextEnvelope(rb2).ciphertext(), "for b2");
  pb::Envelope own = NextEnvelope(ra2);
  EXPECT_EQ(own.ciphertext(), "sync copy");
  EXPECT_EQ(own.type(), pb::ENVELOPE_TYPE_SIGNAL_MESSAGE);
  EXPECT_EQ(own.sender_device_id(), 1u);
}

TEST_F(MultiSubmitTest, CopiesSurviveARestartAndTheBodyGoesWithTheLastAck) {
  Member a = Add("+14155550151"), b = Add("+14155550152"), c = Add("+14155550153");
  uint64_t first = 0;
  {
    auto sender = Connect(a.device);
    pb::ServerFrame answer = Send(sender, 1, Group("r", "kept", {To(b.number, {1}), To(c.number, {1})}));
    ASSERT_TRUE(answer.has_submit_result());
    first = answer.submit_result().server_id();
    auto rb = Connect(b.device);
    ASSERT_EQ(NextEnvelope(rb).ciphertext(), "kept");
    Ack(rb, {first});
    Flush();
  }
  for (auto& conn : connections_) relay_->StreamForTesting().OnClose(conn);
  connections_.clear();
  // B's acknowledgement is recorded against the body; C's copy waits.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM acked_copies"), 1);
  Reopen();
  EXPECT_EQ(Bodies(), 1);
  EXPECT_EQ(relay_->WriterForTesting().bodies_stored(), 1u);
  EXPECT_EQ(relay_->DirectoryForTesting().QueueDepth(b.device.account_id, 1), 0);
  EXPECT_EQ(relay_->DirectoryForTesting().QueueDepth(c.device.account_id, 1), 1);
  auto rc = Connect(c.device);
  pb::Envelope e = NextEnvelope(rc);
  EXPECT_EQ(e.ciphertext(), "kept");
  EXPECT_EQ(e.server_id(), first + 1);
  Ack(rc, {e.server_id()});
  Flush();
  EXPECT_EQ(Bodies(), 0);
  EXPECT_EQ(Envelopes(), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM acked_copies"), 0);
}

TEST_F(MultiSubmitTest, ABodyExpiresWithItsUndeliveredCopies) {
  Member a = Add("+14155550161"), b = Add("+14155550162"), c = Add("+14155550163");
  auto sender = Connect(a.device);
  ASSERT_TRUE(Send(sender, 1, Group("x", "old", {To(b.number, {1}), To(c.number, {1})})).has_submit_result());
  EXPECT_EQ(relay_->DirectoryForTesting().QueueDepth(b.device.account_id, 1), 1);
  clock_.Advance(absl::Hours(24 * 30) + absl::Minutes(1));
  // The next commit runs the hourly upkeep, which expires the body.
  SubmitSeveral(sender, 1, b.number, 10);
  Flush();
  EXPECT_EQ(Bodies(), 0);
  EXPECT_EQ(Envelopes(), 1);  // the fresh 1:1 envelope
  EXPECT_EQ(relay_->DirectoryForTesting().QueueDepth(b.device.account_id, 1), 1);
  EXPECT_EQ(relay_->DirectoryForTesting().QueueDepth(c.device.account_id, 1), 0);
}

TEST_F(MultiSubmitTest, LinkingStopsAtFiveCompanions) {
  Member a = Add("+14155550171");
  for (uint32_t i = 2; i <= 6; ++i) EXPECT_EQ(Link(a).device_id, i);
  auto sixth = accounts().AddLinkedDevice(a.device.account_id, 7);
  EXPECT_EQ(sixth.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM devices"), 6);
  EXPECT_EQ(accounts().AddLinkedDevice(a.device.account_id, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(accounts().AddLinkedDevice(12345, 7).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(MultiSubmitTest, AttachmentsAreReleasedWhenTheLastCopyIsAcknowledged) {
  Member a = Add("+14155550181"), b = Add("+14155550182"), c = Add("+14155550183");
  std::vector<std::pair<uint64_t, std::vector<std::string>>> released;
  relay_->WriterForTesting().SetOnBodyReleased(
      [&](uint64_t owner, std::vector<std::string> ids) { released.emplace_back(owner, std::move(ids)); });
  auto sender = Connect(a.device);
  auto rb = Connect(b.device), rc = Connect(c.device);
  // 1:1 copies (no shared body) that carry two attachments.
  pb::MultiSubmit m;
  m.set_client_message_id("with-attachments");
  for (const Member* to : {&b, &c}) {
    pb::RecipientDevices* r = m.add_recipients();
    r->set_number(to->number);
    pb::DeviceCopy* copy = r->add_devices();
    copy->set_device_id(1);
    copy->set_ciphertext("pointer inside");
    copy->set_type(pb::ENVELOPE_TYPE_SIGNAL_MESSAGE);
  }
  m.add_attachment_ids("blob-one");
  m.add_attachment_ids("blob-two");
  ASSERT_TRUE(Send(sender, 1, m).has_submit_result());
  EXPECT_EQ(Bodies(), 1);  // the record that names the attachments
  pb::Envelope eb = NextEnvelope(rb), ec = NextEnvelope(rc);
  Ack(rb, {eb.server_id()});
  Flush();
  EXPECT_TRUE(released.empty()) << "released while a copy still waits";
  Ack(rc, {ec.server_id()});
  Flush();
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0].first, a.device.account_id);
  EXPECT_EQ(released[0].second, (std::vector<std::string>{"blob-one", "blob-two"}));
  EXPECT_EQ(Bodies(), 0);

  // Bad ids are refused and store nothing.
  pb::MultiSubmit bad = m;
  bad.set_client_message_id("bad-ids");
  bad.add_attachment_ids(std::string(65, 'x'));
  pb::ServerFrame answer = Send(sender, 2, bad);
  ASSERT_TRUE(answer.has_error());
  EXPECT_EQ(answer.error().code(), "invalid_argument");
  EXPECT_EQ(Envelopes(), 0);
}

}  // namespace
}  // namespace tandem::relay
