// Feed pages come from the other operator over the network. Parsing must
// never crash, accepted events must be strictly increasing after the
// cursor, and each must survive a round trip through its JSON form.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "social/feed_event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const int64_t after = static_cast<int64_t>(size % 4);
  auto page = tandem::social::ParseFeedPage(text, after);
  if (!page.ok()) return 0;
  int64_t last = after;
  for (const auto& e : page->events) {
    if (e.seq <= last) std::abort();
    last = e.seq;
    auto again = tandem::social::ParseFeedEvent(tandem::social::FeedEventToJson(e));
    if (!again.ok() || !(*again == e)) std::abort();
  }
  return 0;
}
