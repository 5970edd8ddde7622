// Text decoding: UTF-8 validation, byte-order marks, Windows-1252 and Windows-1256.
#include "exportsync/files/text.hpp"

#include <gtest/gtest.h>
#include <iconv.h>

#include <string>

namespace exportsync::files {
namespace {

TEST(EncodingTest, ParsesNamesAndAliases) {
  EXPECT_EQ(*parseEncoding("utf-8"), Encoding::Utf8);
  EXPECT_EQ(*parseEncoding("UTF8"), Encoding::Utf8);
  EXPECT_EQ(*parseEncoding("windows-1252"), Encoding::Windows1252);
  EXPECT_EQ(*parseEncoding("CP1252"), Encoding::Windows1252);
  EXPECT_EQ(*parseEncoding("iso-8859-1"), Encoding::Windows1252);
  EXPECT_EQ(*parseEncoding("Windows_1256"), Encoding::Windows1256);
  EXPECT_EQ(*parseEncoding("cp1256"), Encoding::Windows1256);
  auto bad = parseEncoding("ebcdic");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.status().code(), Code::Config);
  EXPECT_NE(bad.status().message().find("windows-1256"), std::string::npos);
  EXPECT_STREQ(encodingName(Encoding::Windows1252), "windows-1252");
}

TEST(Utf8Test, FindsInvalidSequences) {
  EXPECT_TRUE(isValidUtf8("Coopérative — الرباط 𝄞"));
  EXPECT_EQ(findInvalidUtf8("abc\xE9z"), 3U);          // Latin-1 é
  EXPECT_EQ(findInvalidUtf8("a\xC0\x80"), 1U);         // overlong NUL
  EXPECT_EQ(findInvalidUtf8("ab\xED\xA0\x80"), 2U);    // surrogate
  EXPECT_EQ(findInvalidUtf8("\xF5\x80\x80\x80"), 0U);  // beyond U+10FFFF
  EXPECT_EQ(findInvalidUtf8("ok\xE2\x82"), 2U);        // truncated €
  EXPECT_EQ(findInvalidUtf8("\x80"), 0U);              // stray continuation
  EXPECT_EQ(findInvalidUtf8("\xE0\x80\x80"), 0U);      // overlong 3-byte
}

TEST(BomTest, StripsOnlyALeadingUtf8Bom) {
  std::string s = "\xEF\xBB\xBFNom;Ville";
  EXPECT_TRUE(stripUtf8Bom(s));
  EXPECT_EQ(s, "Nom;Ville");
  EXPECT_FALSE(stripUtf8Bom(s));
  EXPECT_EQ(s, "Nom;Ville");
}

TEST(WindowsCodePageTest, DecodesFrenchWindows1252) {
  EXPECT_EQ(windowsToUtf8("D\xE9signation;Prix", Encoding::Windows1252), "Désignation;Prix");
  EXPECT_EQ(windowsToUtf8("Caf\xE9 cr\xE8me;3 \x80", Encoding::Windows1252), "Café crème;3 €");
  EXPECT_EQ(windowsToUtf8("\x8Cuvre;fa\xE7on \x9Cil", Encoding::Windows1252), "Œuvre;façon œil");
  EXPECT_EQ(windowsToUtf8("\x92\x85\x96", Encoding::Windows1252), "’…–");
}

TEST(WindowsCodePageTest, DecodesArabicWindows1256) {
  EXPECT_EQ(
      windowsToUtf8("\xC7\xE1\xC7\xD3\xE3\x3B\xC7\xE1\xE3\xCF\xED\xE4\xC9", Encoding::Windows1256),
      "الاسم;المدينة");
  EXPECT_EQ(
      windowsToUtf8("\xC7\xE1\xD1\xC8\xC7\xD8\x3B\xE3\xD1\xC7\xDF\xD4", Encoding::Windows1256),
      "الرباط;مراكش");
  EXPECT_EQ(windowsToUtf8("\xD4\xD1\xDF\xC9\x20\xC7\xE1\xC3\xD8\xE1\xD3", Encoding::Windows1256),
            "شركة الأطلس");
  EXPECT_EQ(windowsToUtf8("\x80 \xE7", Encoding::Windows1256), "€ ç");  // 1256 keeps French letters
}

// Every byte of both code pages against glibc's iconv tables.
std::string iconvDecode(const char* charset, unsigned char byte, bool& defined) {
  iconv_t cd = iconv_open("UTF-8", charset);
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    defined = false;
    return {};
  }
  char in[1] = {static_cast<char>(byte)};
  char out[8] = {};
  char* in_p = in;
  char* out_p = out;
  size_t in_left = 1;
  size_t out_left = sizeof out;
  defined = iconv(cd, &in_p, &in_left, &out_p, &out_left) != static_cast<size_t>(-1);
  iconv_close(cd);
  return std::string(out, sizeof out - out_left);
}

TEST(WindowsCodePageTest, FullTablesMatchIconv) {
  for (const auto& [encoding, charset] : {std::pair{Encoding::Windows1252, "WINDOWS-1252"},
                                          std::pair{Encoding::Windows1256, "WINDOWS-1256"}}) {
    int compared = 0;
    for (int b = 0; b < 256; ++b) {
      bool defined = false;
      const std::string want = iconvDecode(charset, static_cast<unsigned char>(b), defined);
      const std::string got = windowsToUtf8(std::string(1, static_cast<char>(b)), encoding);
      EXPECT_TRUE(isValidUtf8(got)) << charset << " byte " << b;
      if (defined) {
        EXPECT_EQ(got, want) << charset << " byte " << b;
        ++compared;
      }
    }
    if (compared == 0) {
      GTEST_SKIP() << "iconv has no " << charset;
    }
    EXPECT_GE(compared, encoding == Encoding::Windows1252 ? 251 : 256) << charset;
  }
  // The five bytes 1252 leaves undefined decode as Windows does: to the C1 controls.
  EXPECT_EQ(windowsToUtf8("\x81\x8D\x8F\x90\x9D", Encoding::Windows1252),
            "\u0081\u008D\u008F\u0090\u009D");
}

TEST(DecodeTextTest, Utf8BomWinsOverTheConfiguredEncoding) {
  auto text = decodeText(
      "\xEF\xBB\xBF"
      "Coopérative;Agadir",
      Encoding::Windows1252, "a.csv");
  ASSERT_TRUE(text) << text.status().message();
  EXPECT_EQ(*text, "Coopérative;Agadir");
}

TEST(DecodeTextTest, DecodesUtf16WithBom) {
  // "Nom\tVille\r\nÉté\tالرباط" in UTF-16LE, as Excel's "Unicode text" writes it.
  const std::u16string u = u"Nom\tVille\r\nÉté\tالرباط";
  std::string le = "\xFF\xFE";
  std::string be = "\xFE\xFF";
  for (char16_t c : u) {
    le += static_cast<char>(c & 0xFF);
    le += static_cast<char>(c >> 8);
    be += static_cast<char>(c >> 8);
    be += static_cast<char>(c & 0xFF);
  }
  auto a = decodeText(le, Encoding::Utf8, "u.txt");
  auto b = decodeText(be, Encoding::Windows1252, "u.txt");
  ASSERT_TRUE(a) << a.status().message();
  ASSERT_TRUE(b) << b.status().message();
  EXPECT_EQ(*a, "Nom\tVille\r\nÉté\tالرباط");
  EXPECT_EQ(*b, *a);
}

TEST(DecodeTextTest, InvalidUtf8NamesTheLineAndTheSetting) {
  const std::string bytes = "Nom;Ville\r\nAtlas;Rabat\r\nCaf\xE9;F\xE8s\r\n";
  auto text = decodeText(bytes, Encoding::Utf8, "ventes.csv", "plugin.fes.encoding");
  ASSERT_FALSE(text);
  const std::string& m = text.status().message();
  EXPECT_EQ(text.status().code(), Code::Invalid);
  EXPECT_NE(m.find("ventes.csv"), std::string::npos) << m;
  EXPECT_NE(m.find("line 3 column 4"), std::string::npos) << m;
  EXPECT_NE(m.find("0xE9"), std::string::npos) << m;
  EXPECT_NE(m.find("'plugin.fes.encoding'"), std::string::npos) << m;
  EXPECT_NE(m.find("windows-1252"), std::string::npos) << m;
  // The same bytes decode with the suggested setting.
  auto fixed = decodeText(bytes, Encoding::Windows1252, "ventes.csv");
  ASSERT_TRUE(fixed);
  EXPECT_NE(fixed->find("Café;Fès"), std::string::npos);
}

TEST(DecodeTextTest, RefusesNulBytes) {
  auto text = decodeText(std::string("N\0o\0m\0", 6), Encoding::Utf8, "x.csv");
  ASSERT_FALSE(text);
  EXPECT_NE(text.status().message().find("NUL"), std::string::npos);
}

}  // namespace
}  // namespace exportsync::files
