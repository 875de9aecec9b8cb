// Fuzz target for the relay's frame parsing: arbitrary bytes as a
// ClientFrame (what every WebSocket message from a client goes through) and
// as a ServerFrame (what clients decode), then validation and re-encoding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "relay/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto frame = tandem::relay::DecodeClientFrame(bytes);
  if (frame.ok()) {
    if (frame->has_submit()) {
      absl::Status st = tandem::relay::ValidateSubmit(frame->submit());
      if (st.ok()) {
        const auto& s = frame->submit();
        std::string again = tandem::relay::EncodeSubmit(frame->request_id(), s.client_message_id(), s.recipient(),
                                                        s.type(), s.ciphertext());
        auto reparsed = tandem::relay::DecodeClientFrame(again);
        if (!reparsed.ok() || !tandem::relay::ValidateSubmit(reparsed->submit()).ok()) __builtin_trap();
      } else {
        tandem::relay::EncodeError(frame->request_id(), "", st);
      }
    } else if (frame->has_ack()) {
      tandem::relay::ValidateAck(frame->ack()).IgnoreError();
    }
  }
  auto server = tandem::relay::DecodeServerFrame(bytes);
  if (server.ok() && server->has_error()) tandem::relay::StatusFromError(server->error()).IgnoreError();
  return 0;
}
