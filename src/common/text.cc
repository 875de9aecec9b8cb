// The shared validator for user-visible text and links (see text.h).
#include "common/text.h"

#include <arpa/inet.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"

namespace tandem {
namespace {

std::string Quoted(std::string_view field) { return absl::StrCat("'", std::string(field), "'"); }

std::string CodePoint(uint32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", cp);
  return buf;
}

// Decodes one UTF-8 sequence at value[i]; returns its length, or 0 when it
// is malformed (truncated, overlong, a surrogate or beyond U+10FFFF).
size_t DecodeUtf8(std::string_view value, size_t i, uint32_t* cp) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(value[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  size_t len;
  uint32_t min;
  if ((b0 & 0xe0) == 0xc0) {
    len = 2, min = 0x80, *cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    len = 3, min = 0x800, *cp = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    len = 4, min = 0x10000, *cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > value.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    *cp = (*cp << 6) | (byte(i + k) & 0x3f);
  }
  if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff)) return 0;
  return len;
}

bool IsBidiControl(uint32_t cp) { return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069); }

bool IsAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Characters allowed as they are in a path, query or fragment (RFC 3986
// unreserved, sub-delims without the apostrophe, ':', '@', '/', '?');
// '%' is checked separately, '#' once.
bool IsUrlChar(char c) {
  if (IsAlnum(c)) return true;
  switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
    case '!':
    case '$':
    case '&':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
    case ':':
    case '@':
    case '/':
    case '?':
      return true;
    default:
      return false;
  }
}

bool IsIpv4(std::string_view host) {
  int parts = 0;
  size_t i = 0;
  while (i <= host.size()) {
    size_t end = host.find('.', i);
    if (end == std::string_view::npos) end = host.size();
    std::string_view part = host.substr(i, end - i);
    if (part.empty() || part.size() > 3 || (part.size() > 1 && part[0] == '0')) return false;
    int v = 0;
    for (char c : part) {
      if (!IsDigit(c)) return false;
      v = v * 10 + (c - '0');
    }
    if (v > 255) return false;
    ++parts;
    i = end + 1;
  }
  return parts == 4;
}

// A DNS name of letters, digits and hyphens (IDNs in their xn-- form), at
// least two labels, not all-numeric at the top (that would be an IPv4
// address, checked separately).
bool IsHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  int labels = 0;
  bool last_numeric = false;
  size_t i = 0;
  while (i <= host.size()) {
    size_t end = host.find('.', i);
    if (end == std::string_view::npos) end = host.size();
    std::string_view label = host.substr(i, end - i);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    last_numeric = true;
    for (char c : label) {
      if (!IsAlnum(c) && c != '-') return false;
      if (!IsDigit(c)) last_numeric = false;
    }
    ++labels;
    i = end + 1;
  }
  return labels >= 2 && !last_numeric;
}

}  // namespace

absl::Status ValidateText(std::string_view field, std::string_view value, const TextRules& rules) {
  if (value.size() < rules.min_bytes || value.size() > rules.max_bytes) {
    if (rules.min_bytes == 0) {
      return absl::InvalidArgumentError(absl::StrCat(Quoted(field), " must be at most ", rules.max_bytes,
                                                     " bytes long (it has ", value.size(), ")"));
    }
    return absl::InvalidArgumentError(absl::StrCat(Quoted(field), " must be ", rules.min_bytes, " to ",
                                                   rules.max_bytes, " bytes long (it has ", value.size(),
                                                   ")"));
  }
  for (size_t i = 0; i < value.size();) {
    uint32_t cp = 0;
    const size_t len = DecodeUtf8(value, i, &cp);
    if (len == 0) {
      return absl::InvalidArgumentError(absl::StrCat(Quoted(field), " is not valid UTF-8 (at byte ", i, ")"));
    }
    const bool allowed_break = rules.multiline && (cp == '\n' || cp == '\t');
    if ((cp < 0x20 && !allowed_break) || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029) {
      std::string hint =
          cp == '\r' || cp == '\n' || cp == 0x2028 || cp == 0x2029
              ? (rules.multiline ? "; use LF (\\n) for line breaks" : "; it must be a single line")
              : "";
      return absl::InvalidArgumentError(absl::StrCat(Quoted(field), " contains a control character (",
                                                     CodePoint(cp), ") at byte ", i, hint));
    }
    if (IsBidiControl(cp)) {
      return absl::InvalidArgumentError(absl::StrCat(
          Quoted(field), " contains a bidirectional formatting character (", CodePoint(cp), ") at byte ", i));
    }
    i += len;
  }
  return absl::OkStatus();
}

absl::Status ValidateUrl(std::string_view field, std::string_view value, size_t max_bytes) {
  const std::string name = Quoted(field);
  if (value.empty())
    return absl::InvalidArgumentError(absl::StrCat(name, " is empty; give an https:// link"));
  if (value.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " must be at most ", max_bytes, " bytes long (it has ", value.size(), ")"));
  }
  // Characters that are never part of a link, wherever they are.
  for (size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " contains a control character (", CodePoint(c), ") at byte ", i));
    }
    if (c == ' ') return absl::InvalidArgumentError(absl::StrCat(name, " contains a space at byte ", i));
    if (c >= 0x80) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " contains a non-ASCII character at byte ", i,
                       "; percent-encode it (and write an international host name in its xn-- form)"));
    }
    if (c == '"' || c == '\'' || c == '<' || c == '>' || c == '`' || c == '\\') {
      return absl::InvalidArgumentError(absl::StrCat(name, " contains the character ",
                                                     std::string(1, static_cast<char>(c)), " at byte ", i,
                                                     ", which is not allowed in a link"));
    }
  }
  size_t scheme_len = 0;
  auto starts_with_ci = [&](std::string_view prefix) {
    if (value.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i) {
      char c = value[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != prefix[i]) return false;
    }
    return true;
  };
  if (starts_with_ci("https://")) {
    scheme_len = 8;
  } else if (starts_with_ci("http://")) {
    scheme_len = 7;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(name, " must start with https:// or http://"));
  }
  const size_t authority_end = value.find_first_of("/?#", scheme_len);
  std::string_view authority = value.substr(
      scheme_len, (authority_end == std::string_view::npos ? value.size() : authority_end) - scheme_len);
  if (authority.find('@') != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " must not contain a user name or password (user@host); give the host only"));
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(name, " has an unterminated IPv6 address"));
    }
    host = authority.substr(0, close + 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return absl::InvalidArgumentError(absl::StrCat(name, " has characters after its IPv6 address"));
      }
      port = rest.substr(1);
      if (port.empty()) return absl::InvalidArgumentError(absl::StrCat(name, " has an empty port"));
    }
    std::string literal(host.substr(1, host.size() - 2));
    in6_addr addr;
    if (inet_pton(AF_INET6, literal.c_str(), &addr) != 1) {
      return absl::InvalidArgumentError(absl::StrCat(name, " has an invalid IPv6 address '", literal, "'"));
    }
  } else {
    const size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      if (port.empty()) return absl::InvalidArgumentError(absl::StrCat(name, " has an empty port"));
    }
    if (host.empty()) return absl::InvalidArgumentError(absl::StrCat(name, " has no host"));
    if (!IsIpv4(host) && !IsHostName(host)) {
      return absl::InvalidArgumentError(absl::StrCat(name, " has an invalid host '",
                                                     std::string(host.substr(0, 100)),
                                                     "': use a domain name such as shop.example (letters, "
                                                     "digits and hyphens between dots) or an IP address"));
    }
  }
  if (!port.empty()) {
    int v = 0;
    for (char c : port) {
      if (!IsDigit(c) || port.size() > 5) {
        return absl::InvalidArgumentError(
            absl::StrCat(name, " has an invalid port '", std::string(port.substr(0, 10)), "'"));
      }
      v = v * 10 + (c - '0');
    }
    if (v < 1 || v > 65535) {
      return absl::InvalidArgumentError(absl::StrCat(name, " has a port outside 1 to 65535"));
    }
  }
  if (authority_end == std::string_view::npos) return absl::OkStatus();
  bool in_fragment = false;
  for (size_t i = authority_end; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '%') {
      if (i + 2 >= value.size() || !IsHex(value[i + 1]) || !IsHex(value[i + 2])) {
        return absl::InvalidArgumentError(
            absl::StrCat(name, " has a '%' at byte ", i, " that is not followed by two hex digits"));
      }
      i += 2;
      continue;
    }
    if (c == '#') {
      if (in_fragment) {
        return absl::InvalidArgumentError(
            absl::StrCat(name, " has a second '#' at byte ", i, "; percent-encode it"));
      }
      in_fragment = true;
      continue;
    }
    if (!IsUrlChar(c)) {
      return absl::InvalidArgumentError(absl::StrCat(name, " contains the character ", std::string(1, c),
                                                     " at byte ", i, "; percent-encode it"));
    }
  }
  return absl::OkStatus();
}

}  // namespace tandem
