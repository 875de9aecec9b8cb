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
  ContactFile file;
  std::vector<std::string> fields;
  size_t line_no = 0;
  bool need_header = header;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (need_header) {
      need_header = false;
      if (!column_name.empty()) {
        if (!ParseCsvLine(line, &fields).ok())
          return absl::InvalidArgumentError("line 1: malformed CSV header");
        auto it = std::find(fields.begin(), fields.end(), column_name);
        if (it == fields.end()) {
          return absl::InvalidArgumentError(absl::StrCat("no column named '", std::string(column_name), "'"));
        }
        column = static_cast<size_t>(it - fields.begin());
      }
      continue;
    }
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (column == 0 && line.find_first_of(",\"") == std::string_view::npos) {
      file.numbers.push_back({line_no, std::string(line)});
      continue;
    }
    if (absl::Status st = ParseCsvLine(line, &fields); !st.ok()) {
      file.errors.emplace_back(line_no, absl::StrCat("malformed CSV: ", std::string(st.message())));
      continue;
    }
    if (column >= fields.size()) {
      file.errors.emplace_back(line_no, absl::StrCat("has no column ", column + 1));
      continue;
    }
    file.numbers.push_back({line_no, fields[column]});
  }
  return file;
}

}  // namespace tandem::social
