// Fuzz target for the relay's frame parsing: arbitrary bytes as a
// ClientFrame (what every WebSocket message from a client goes through) and
// as a ServerFrame (what clients decode), then validation and re-encoding
// (single and multi-recipient submissions);
// batches must respect their bounds and join back to the same frames.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "relay_protocol/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto frame = tandem::relay::DecodeClientFrame(bytes);
  if (frame.ok()) {
    if (frame->has_submit()) {
      absl::Status st = tandem::relay::ValidateSubmit(frame->submit());
      if (st.ok()) {
        const auto& s = frame->submit();
        std::string again = tandem::relay::EncodeSubmit(frame->request_id(), s.client_message_id(),
                                                        s.recipient(), s.type(), s.ciphertext());
        auto reparsed = tandem::relay::DecodeClientFrame(again);
        if (!reparsed.ok() || !tandem::relay::ValidateSubmit(reparsed->submit()).ok()) __builtin_trap();
      } else {
        tandem::relay::EncodeError(frame->request_id(), "", st);
      }
    } else if (frame->has_multi_submit()) {
      absl::Status st = tandem::relay::ValidateMultiSubmit(frame->multi_submit());
      if (st.ok()) {
        auto reparsed = tandem::relay::DecodeClientFrame(
            tandem::relay::EncodeMultiSubmit(frame->request_id(), frame->multi_submit()));
        if (!reparsed.ok() || !tandem::relay::ValidateMultiSubmit(reparsed->multi_submit()).ok())
          __builtin_trap();
      } else {
        tandem::relay::EncodeError(frame->request_id(), "", st);
      }
    } else if (frame->has_ack()) {
      tandem::relay::ValidateAck(frame->ack()).IgnoreError();
    } else if (frame->has_batch()) {
      const auto& frames = frame->batch().frames();
      if (frames.empty() || static_cast<size_t>(frames.size()) > tandem::relay::kMaxFramesPerBatch)
        __builtin_trap();
      std::vector<std::string> parts;
      for (const auto& f : frames) {
        if (f.has_batch()) __builtin_trap();
        parts.push_back(f.SerializeAsString());
      }
      auto again = tandem::relay::DecodeClientFrame(tandem::relay::JoinClientFrames(parts));
      if (!again.ok() || again->batch().frames_size() != frames.size()) __builtin_trap();
    }
  }
  auto server = tandem::relay::DecodeServerFrame(bytes);
  if (server.ok()) {
    for (const auto* f : tandem::relay::FramesOf(*server)) {
      if (f->has_batch() || f->body_case() == tandem::relay::pb::ServerFrame::BODY_NOT_SET) __builtin_trap();
      if (f->has_error()) tandem::relay::StatusFromError(f->error()).IgnoreError();
    }
  }
  return 0;
}
