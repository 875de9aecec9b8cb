// Address-book parsing and per-row normalization.
#include "social/address_book.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/csv.h"
#include "phone/phone.h"

namespace tandem::social {

absl::StatusOr<AddressBookUpload> ParseAddressBookUpload(std::string_view body) {
  using nlohmann::json;
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError("body must be a JSON object");
  AddressBookUpload upload;
  if (auto it = j.find("region"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) return absl::InvalidArgumentError("region must be a string such as \"US\"");
    upload.region = it->get<std::string>();
    if (!upload.region.empty() && !phone::IsKnownRegion(upload.region)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown region '", upload.region.substr(0, 8),
                                                     "' (use an ISO code such as US or DE)"));
    }
  }
  auto entries = j.find("entries");
  if (entries == j.end() || !entries->is_array()) {
    return absl::InvalidArgumentError("entries must be an array of phone numbers");
  }
  if (entries->size() > kMaxAddressBookEntries) {
    return absl::InvalidArgumentError(absl::StrCat("an address book holds at most ", kMaxAddressBookEntries,
                                                   " entries, got ", entries->size()));
  }
  upload.entries.reserve(entries->size());
  for (size_t i = 0; i < entries->size(); ++i) {
    const json& e = (*entries)[i];
    if (!e.is_string()) return absl::InvalidArgumentError(absl::StrCat("entries[", i, "] is not a string"));
    const auto& s = e.get_ref<const std::string&>();
    if (s.size() > 64)
      return absl::InvalidArgumentError(absl::StrCat("entries[", i, "] is longer than 64 bytes"));
    upload.entries.push_back(s);
  }
  return upload;
}

NormalizedAddressBook NormalizeAddressBook(const AddressBookUpload& upload) {
  NormalizedAddressBook out;
  out.phones.reserve(upload.entries.size());
  for (size_t i = 0; i < upload.entries.size(); ++i) {
    phone::Parsed parsed = phone::Parse(upload.entries[i], upload.region);
    PhoneKey key = parsed.reason == phone::Reason::kOk ? PhoneKeyFromE164(parsed.e164) : 0;
    if (key == 0) {
      phone::Reason reason = parsed.reason == phone::Reason::kOk ? phone::Reason::kNotANumber : parsed.reason;
      out.rejected.push_back(
          {i, std::string(phone::ReasonCode(reason)), std::string(phone::ReasonText(reason))});
      continue;
    }
    out.phones.push_back(key);
  }
  std::sort(out.phones.begin(), out.phones.end());
  out.phones.erase(std::unique(out.phones.begin(), out.phones.end()), out.phones.end());
  return out;
}

absl::StatusOr<ContactFile> ParseContactFile(std::string_view text, bool header, size_t column,
                                             std::string_view column_name) {
  CsvColumn spec;
  spec.index = column;
  spec.name = std::string(column_name);
  spec.header = header || !column_name.empty();
  auto values = ReadCsvColumn(text, spec, /*whitespace_is_blank=*/true);
  // A file the reader cannot use at all is the caller's bad input.
  if (!values.ok()) return absl::InvalidArgumentError(values.status().message());
  ContactFile file;
  file.numbers.reserve(values->cells.size());
  for (auto& [line, cell] : values->cells) file.numbers.push_back({line, std::move(cell)});
  file.errors = std::move(values->problems);
  return file;
}

}  // namespace tandem::social
