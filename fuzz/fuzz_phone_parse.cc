// Phone numbers arrive from sign-ups, address books and customer lists.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "phone/phone.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 256) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // The first byte picks a region hint so that hinted parsing is covered.
  static const char* kHints[] = {"", "US", "DE", "GB", "IN", "BR", "zz"};
  std::string_view hint = size ? kHints[data[0] % 7] : "";
  tandem::phone::Parsed p = tandem::phone::Parse(in, hint);
  if (p.reason == tandem::phone::Reason::kOk) {
    // Whatever is accepted is E.164 and a fixed point of normalization.
    if (!tandem::phone::LooksLikeE164(p.e164)) std::abort();
    auto again = tandem::phone::Normalize(p.e164);
    if (!again.ok() || *again != p.e164) std::abort();
  }
  return 0;
}
