// Tests of the shared validator for user-visible text and links.
#include "common/text.h"

#include <gtest/gtest.h>

#include <string>

namespace tandem {
namespace {

std::string Message(const absl::Status& st) { return std::string(st.message()); }

TEST(ValidateTextTest, AcceptsOrdinaryTextInAnyScript) {
  EXPECT_TRUE(ValidateText("name", "Corner Bakery", 200).ok());
  EXPECT_TRUE(ValidateText("name", "Boulangerie du coin \u00e9t\u00e9", 200).ok());
  EXPECT_TRUE(ValidateText("name",
                           "\u05de\u05d0\u05e4\u05d9\u05d9\u05d4 \u0645\u062e\u0628\u0632 \u30d1\u30f3\u5c4b",
                           200)
                  .ok());
  EXPECT_TRUE(ValidateText("name", "Fresh bread \U0001F35E, 50% off!", 200).ok());
  EXPECT_TRUE(ValidateText("name", "\"quotes\" and <angle> brackets are fine in text", 200).ok());
  EXPECT_TRUE(ValidateText("post", "two\nlines\tand a tab", TextRules{1, 5000, true}).ok());
  EXPECT_TRUE(ValidateText("display_name", "", TextRules{0, 64, false}).ok());
}

TEST(ValidateTextTest, LengthsAreBytesWithinTheRange) {
  EXPECT_TRUE(ValidateText("title", std::string(100, 'a'), 100).ok());
  absl::Status st = ValidateText("title", std::string(101, 'a'), 100);
  EXPECT_TRUE(absl::IsInvalidArgument(st));
  EXPECT_EQ(Message(st), "'title' must be 1 to 100 bytes long (it has 101)");
  EXPECT_EQ(Message(ValidateText("title", "", 100)), "'title' must be 1 to 100 bytes long (it has 0)");
  EXPECT_EQ(Message(ValidateText("display_name", std::string(65, 'a'), TextRules{0, 64, false})),
            "'display_name' must be at most 64 bytes long (it has 65)");
}

TEST(ValidateTextTest, RefusesEveryControlCharacterNamingFieldAndPlace) {
  for (int c = 0; c < 0x20; ++c) {
    std::string v = "ab";
    v.push_back(static_cast<char>(c));
    absl::Status st = ValidateText("title", v, 100);
    ASSERT_TRUE(absl::IsInvalidArgument(st)) << c;
    EXPECT_NE(Message(st).find("'title' contains a control character"), std::string::npos) << Message(st);
    EXPECT_NE(Message(st).find("at byte 2"), std::string::npos) << Message(st);
  }
  EXPECT_EQ(Message(ValidateText("text", "Buy now\r\nSet-Cookie: x", 100)),
            "'text' contains a control character (U+000D) at byte 7; it must be a single line");
  EXPECT_EQ(Message(ValidateText("title", "a\x7f", 100)),
            "'title' contains a control character (U+007F) at byte 1");
  EXPECT_EQ(Message(ValidateText("title", "a\u0085b", 100)),  // NEL, a C1 control
            "'title' contains a control character (U+0085) at byte 1");
  EXPECT_EQ(Message(ValidateText("title", "a\x1b[31mred", 100)),
            "'title' contains a control character (U+001B) at byte 1");
  EXPECT_FALSE(ValidateText("title", "line\u2028separator", 100).ok());
  EXPECT_FALSE(ValidateText("title", std::string("nul\0inside", 10), 100).ok());
  // Multi-line fields take LF and TAB, but not CR or other controls.
  TextRules post{1, 5000, true};
  EXPECT_EQ(Message(ValidateText("text", "a\r\nb", post)),
            "'text' contains a control character (U+000D) at byte 1; use LF (\\n) for line breaks");
  EXPECT_FALSE(ValidateText("text",
                            "a\x08"
                            "b",
                            post)
                   .ok());
  EXPECT_FALSE(ValidateText("text", "a\u2029b", post).ok());
}

TEST(ValidateTextTest, RefusesBidiOverridesAndBrokenUtf8) {
  EXPECT_EQ(Message(ValidateText("name", "abc\u202Egnp.exe", 100)),
            "'name' contains a bidirectional formatting character (U+202E) at byte 3");
  EXPECT_FALSE(ValidateText("name", "x\u2066y", 100).ok());
  EXPECT_EQ(Message(ValidateText("name", "ab\xff", 100)), "'name' is not valid UTF-8 (at byte 2)");
  EXPECT_FALSE(ValidateText("name", "\xc0\xaf", 100).ok());          // overlong '/'
  EXPECT_FALSE(ValidateText("name", "\xed\xa0\x80", 100).ok());      // a surrogate
  EXPECT_FALSE(ValidateText("name", "\xe2\x82", 100).ok());          // truncated
  EXPECT_FALSE(ValidateText("name", "\xf4\x90\x80\x80", 100).ok());  // beyond U+10FFFF
}

TEST(ValidateUrlTest, AcceptsOrdinaryLinks) {
  for (const char* url :
       {"https://bakery.example/rye", "http://bakery.example", "https://shop.example:8443/a/b?x=1&y=2#top",
        "HTTPS://Shop.Example/Spring", "https://xn--bcher-kva.example/", "https://192.0.2.7/offer",
        "https://[2001:db8::1]:443/p", "https://a-b.c-d.example/%E2%82%AC?q=a+b,c;d=e@f:g/h~i_j!k*l(m)n$o"}) {
    EXPECT_TRUE(ValidateUrl("link", url).ok()) << url << ": " << ValidateUrl("link", url);
  }
}

TEST(ValidateUrlTest, RefusesOtherSchemesAndBadHosts) {
  EXPECT_EQ(Message(ValidateUrl("link", "javascript:alert(1)")),
            "'link' must start with https:// or http://");
  EXPECT_FALSE(ValidateUrl("link", "ftp://files.example/").ok());
  EXPECT_FALSE(ValidateUrl("link", "data:text/html,hi").ok());
  EXPECT_FALSE(ValidateUrl("link", "//bakery.example").ok());
  EXPECT_FALSE(ValidateUrl("link", "").ok());
  EXPECT_EQ(Message(ValidateUrl("link", "https://")), "'link' has no host");
  EXPECT_EQ(Message(ValidateUrl("link", "https:///path")), "'link' has no host");
  for (const char* url :
       {"https://localhost/", "https://-bad.example/", "https://bad-.example/", "https://a..example/",
        "https://bakery.example./", "https://under_score.example/", "https://999.1.1.1/", "https://1.2.3/",
        "https://01.2.3.4/", "https://bakery.123/"}) {
    absl::Status st = ValidateUrl("link", url);
    EXPECT_TRUE(absl::IsInvalidArgument(st)) << url;
    EXPECT_NE(Message(st).find("invalid host"), std::string::npos) << url << ": " << st;
  }
  EXPECT_FALSE(ValidateUrl("link", "https://" + std::string(64, 'a') + ".example/").ok());  // label > 63
  EXPECT_EQ(Message(ValidateUrl("link", "https://bank.example@evil.example/")),
            "'link' must not contain a user name or password (user@host); give the host only");
  EXPECT_FALSE(ValidateUrl("link", "https://[2001:db8::zz]/").ok());
  EXPECT_FALSE(ValidateUrl("link", "https://[2001:db8::1/").ok());
  EXPECT_FALSE(ValidateUrl("link", "https://shop.example:0/").ok());
  EXPECT_FALSE(ValidateUrl("link", "https://shop.example:65536/").ok());
  EXPECT_FALSE(ValidateUrl("link", "https://shop.example:/").ok());
  EXPECT_FALSE(ValidateUrl("link", "https://shop.example:80a/").ok());
}

TEST(ValidateUrlTest, RefusesInjectionCharactersAnywhere) {
  EXPECT_EQ(Message(ValidateUrl("link", "https://bakery.example/\r\nLocation: https://evil.example")),
            "'link' contains a control character (U+000D) at byte 23");
  EXPECT_EQ(Message(ValidateUrl("link", "https://bakery.example/a b")), "'link' contains a space at byte 24");
  EXPECT_EQ(Message(ValidateUrl("link", "https://bakery.example/\"onmouseover=\"x")),
            "'link' contains the character \" at byte 23, which is not allowed in a link");
  EXPECT_FALSE(ValidateUrl("link", "https://bakery.example/'x'").ok());
  EXPECT_FALSE(ValidateUrl("link", "https://bakery.example/<script>").ok());
  EXPECT_FALSE(ValidateUrl("link", "https://bakery.example/a>b").ok());
  EXPECT_FALSE(ValidateUrl("link", "https://bakery.example/\tx").ok());
  EXPECT_FALSE(ValidateUrl("link", "https://bakery.example/\x7f").ok());
  EXPECT_FALSE(ValidateUrl("link", std::string("https://bakery.example/\0", 24)).ok());
  EXPECT_FALSE(ValidateUrl("link", "https://bakery.example/a\\b").ok());
  EXPECT_FALSE(ValidateUrl("link", "https://bakery.example/`x`").ok());
  EXPECT_FALSE(ValidateUrl("link", "https://bakery.example/{x}|^").ok());
  EXPECT_FALSE(ValidateUrl("link", "https://b\u00e4ckerei.example/").ok());
  EXPECT_FALSE(ValidateUrl("link", "https://bakery.example/\u00e9").ok());
  EXPECT_EQ(Message(ValidateUrl("link", "https://bakery.example/%zz")),
            "'link' has a '%' at byte 23 that is not followed by two hex digits");
  EXPECT_FALSE(ValidateUrl("link", "https://bakery.example/%4").ok());
  EXPECT_FALSE(ValidateUrl("link", "https://bakery.example/#a#b").ok());
  EXPECT_FALSE(ValidateUrl("link", "https://bakery.example/[x]").ok());
}

TEST(ValidateUrlTest, HasALengthLimit) {
  std::string url = "https://bakery.example/";
  url += std::string(kMaxUrlBytes - url.size(), 'a');
  EXPECT_TRUE(ValidateUrl("link", url).ok());
  EXPECT_EQ(Message(ValidateUrl("link", url + "a")), "'link' must be at most 2000 bytes long (it has 2001)");
  EXPECT_FALSE(ValidateUrl("link", "https://bakery.example/abc", 20).ok());
}

}  // namespace
}  // namespace tandem
