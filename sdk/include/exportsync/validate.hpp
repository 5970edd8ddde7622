// Validators for the values an office clerk types or a spreadsheet holds: ICE, HS codes,
// countries, region codes, dates and periods, amounts in dirhams, quantities and text.
//
// Each validator takes raw text and returns a Result holding the *normalised* value (e.g.
// " 5701.10 " → "570110", "uk" is refused, "1 234,50 DH" → 123450 centimes), or a failed
// Status (Code::Invalid) whose one-line English message says what was expected and what was
// found, e.g. `ICE must be 15 digits, got '00123' (5 digits)`. Messages do not name the column:
// add it with `status().withContext("column 'ice'")`. Raw input is quoted in messages with
// control characters and invalid UTF-8 bytes escaped as \xNN, and cut after ~60 bytes.
//
// The rules (ambiguous amounts, day-first dates, which region forms are accepted, ...) are
// specified in docs/datasets.md, section "Validation rules".
//
// OWNERSHIP: every function returns values owned by the caller; nothing points into the input.
// The tables (kCountryCodes, kRegions) are static constants.
// THREAD: pure functions over constant tables; safe from any thread.
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "exportsync/dataset.hpp"
#include "exportsync/status.hpp"

namespace exportsync::validate {

// --- Internal helpers (not part of the API) -------------------------------------------------

namespace internal {

constexpr bool isDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool isAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr char toUpper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; }
constexpr char toLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

inline std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    c = toUpper(c);
  }
  return out;
}

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (toLower(a[i]) != toLower(b[i])) {
      return false;
    }
  }
  return true;
}

inline unsigned char byteAt(std::string_view s, size_t i) {
  return static_cast<unsigned char>(s[i]);
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 when the bytes there are not valid
// UTF-8 (overlong forms, surrogates and code points above U+10FFFF are invalid).
inline size_t utf8SequenceAt(std::string_view s, size_t i) {
  const unsigned char c = byteAt(s, i);
  if (c < 0x80) {
    return 1;
  }
  size_t n = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    lo = c == 0xE0 ? 0xA0 : 0x80;
    hi = c == 0xED ? 0x9F : 0xBF;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    lo = c == 0xF0 ? 0x90 : 0x80;
    hi = c == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (i + n > s.size()) {
    return 0;
  }
  if (byteAt(s, i + 1) < lo || byteAt(s, i + 1) > hi) {
    return 0;
  }
  for (size_t k = 2; k < n; ++k) {
    if (byteAt(s, i + k) < 0x80 || byteAt(s, i + k) > 0xBF) {
      return 0;
    }
  }
  return n;
}

// Byte length of a space usable inside a number at s[i]: ' ', U+00A0 (no-break space),
// U+2007 (figure space) or U+202F (narrow no-break space, Excel's French thousands separator);
// 0 otherwise.
inline size_t numberSpaceAt(std::string_view s, size_t i) {
  if (s[i] == ' ') {
    return 1;
  }
  if (byteAt(s, i) == 0xC2 && i + 1 < s.size() && byteAt(s, i + 1) == 0xA0) {
    return 2;
  }
  if (byteAt(s, i) == 0xE2 && i + 2 < s.size() && byteAt(s, i + 1) == 0x80 &&
      (byteAt(s, i + 2) == 0x87 || byteAt(s, i + 2) == 0xAF)) {
    return 3;
  }
  return 0;
}

// Removes ASCII whitespace and the no-break spaces above at both ends.
inline std::string_view trim(std::string_view s) {
  auto ascii_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
  };
  while (!s.empty()) {
    if (ascii_space(s.front())) {
      s.remove_prefix(1);
    } else if (const size_t n = numberSpaceAt(s, 0); n > 0) {
      s.remove_prefix(n);
    } else {
      break;
    }
  }
  while (!s.empty()) {
    if (ascii_space(s.back())) {
      s.remove_suffix(1);
    } else if (s.size() >= 2 && numberSpaceAt(s, s.size() - 2) == 2) {
      s.remove_suffix(2);
    } else if (s.size() >= 3 && numberSpaceAt(s, s.size() - 3) == 3) {
      s.remove_suffix(3);
    } else {
      break;
    }
  }
  return s;
}

// `s` in single quotes for a message: control bytes and invalid UTF-8 as \xNN, cut after
// about 60 bytes.
inline std::string quoted(std::string_view s) {
  constexpr size_t kMaxBytes = 60;
  std::string out = "'";
  size_t i = 0;
  while (i < s.size()) {
    if (i >= kMaxBytes) {
      out += "...";
      break;
    }
    const size_t n = utf8SequenceAt(s, i);
    const unsigned char c = byteAt(s, i);
    if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7F))) {
      std::array<char, 8> buf{};
      std::snprintf(buf.data(), buf.size(), "\\x%02X", static_cast<unsigned>(c));
      out += buf.data();
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out + "'";
}

// "1 digit", "5 digits".
inline std::string plural(size_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

inline std::string twoDigits(int64_t v) {
  std::array<char, 24> buf{};
  std::snprintf(buf.data(), buf.size(), "%02lld", static_cast<long long>(v));
  return buf.data();
}

// Parses `s` as 1..max_len digits; false if it is empty, longer or holds anything else.
inline bool digitsValue(std::string_view s, size_t max_len, int64_t& out) {
  if (s.empty() || s.size() > max_len) {
    return false;
  }
  int64_t v = 0;
  for (char c : s) {
    if (!isDigit(c)) {
      return false;
    }
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

inline const char* monthName(int64_t m) {
  constexpr std::array<const char*, 12> kNames = {"January",   "February", "March",    "April",
                                                  "May",       "June",     "July",     "August",
                                                  "September", "October",  "November", "December"};
  return m >= 1 && m <= 12 ? kNames[static_cast<size_t>(m - 1)] : "?";
}

}  // namespace internal

// --- UTF-8 and text -------------------------------------------------------------------------

/// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or code points above
/// U+10FFFF). The empty string is valid.
inline bool isValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = internal::utf8SequenceAt(s, i);
    if (n == 0) {
      return false;
    }
    i += n;
  }
  return true;
}

/// Number of code points ("characters") in `s`; each invalid byte counts as one.
inline size_t utf8Length(std::string_view s) {
  size_t count = 0;
  for (size_t i = 0; i < s.size(); ++count) {
    const size_t n = internal::utf8SequenceAt(s, i);
    i += n == 0 ? 1 : n;
  }
  return count;
}

/// Default maximum length of a text value, in characters.
inline constexpr size_t kDefaultMaxChars = 200;

/// A required text value: valid UTF-8, trimmed of surrounding spaces (ASCII, U+00A0, U+202F),
/// not empty, no control characters (tabs and line breaks included), at most `max_chars`
/// characters (code points).
/// @return the trimmed text. Errors: "text is empty; a value is required", "text is not valid
/// UTF-8 (byte 0xE9 at position 4); save the file as UTF-8 ...", "text is 250 characters
/// long; at most 200 are allowed", "text ... contains a control character ...".
inline Result<std::string> text(std::string_view input, size_t max_chars = kDefaultMaxChars) {
  for (size_t i = 0; i < input.size();) {
    const size_t n = internal::utf8SequenceAt(input, i);
    if (n == 0) {
      std::array<char, 64> buf{};
      std::snprintf(buf.data(), buf.size(), "(byte 0x%02X at position %zu)",
                    static_cast<unsigned>(internal::byteAt(input, i)), i + 1);
      return Status::invalid("text " + internal::quoted(input) + " is not valid UTF-8 " +
                             buf.data() +
                             "; save the file as UTF-8 (it may be in Windows-1252 or Latin-1)");
    }
    i += n;
  }
  const std::string_view s = internal::trim(input);
  if (s.empty()) {
    return Status::invalid("text is empty; a value is required");
  }
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++chars) {
    const size_t n = internal::utf8SequenceAt(s, i);
    const unsigned char c = internal::byteAt(s, i);
    // C0 controls, DEL, and C1 controls (U+0080..U+009F, encoded C2 80..C2 9F).
    if ((n == 1 && (c < 0x20 || c == 0x7F)) ||
        (n == 2 && c == 0xC2 && internal::byteAt(s, i + 1) <= 0x9F)) {
      return Status::invalid("text " + internal::quoted(s) +
                             " contains a control character (tab, line break or similar) at "
                             "character " +
                             std::to_string(chars + 1) + "; remove it");
    }
    i += n;
  }
  if (chars > max_chars) {
    return Status::invalid("text " + internal::quoted(s) + " is " + std::to_string(chars) +
                           " characters long; at most " + std::to_string(max_chars) +
                           " are allowed");
  }
  return std::string(s);
}

/// Like text(), but blank input (empty or spaces only) is a valid "no value": nullopt.
inline Result<std::optional<std::string>> optionalText(std::string_view input,
                                                       size_t max_chars = kDefaultMaxChars) {
  if (internal::trim(input).empty() && isValidUtf8(input)) {
    return std::optional<std::string>();
  }
  auto t = text(input, max_chars);
  if (!t) {
    return t.status();
  }
  return std::optional<std::string>(std::move(t).value());
}

// --- ICE ------------------------------------------------------------------------------------

/// ICE (Identifiant Commun de l'Entreprise): exactly 15 digits. Spaces (also no-break ones)
/// anywhere are removed, so "001525148 000067" is accepted. The two check digits are not
/// verified (their algorithm is not published); all zeros is refused.
/// @return the 15 digits. Errors name the digit count, e.g.
/// "ICE must be 15 digits, got '00123' (5 digits)", with a hint when a spreadsheet has dropped
/// leading zeros or written the ICE in scientific notation.
inline Result<std::string> ice(std::string_view input) {
  const std::string_view s = internal::trim(input);
  if (s.empty()) {
    return Status::invalid("ICE is empty; 15 digits are expected");
  }
  std::string digits;
  for (size_t i = 0; i < s.size();) {
    if (const size_t n = internal::numberSpaceAt(s, i); n > 0) {
      i += n;
    } else if (internal::isDigit(s[i])) {
      digits += s[i++];
    } else {
      if ((s.find('E') != std::string_view::npos || s.find('e') != std::string_view::npos) &&
          s.find('+') != std::string_view::npos) {
        return Status::invalid("ICE must be 15 digits, got " + internal::quoted(s) +
                               " (a number in scientific notation); format the spreadsheet "
                               "column as text so that all 15 digits are kept");
      }
      const size_t len = internal::utf8SequenceAt(s, i);
      return Status::invalid("ICE must be 15 digits, got " + internal::quoted(s) +
                             " (it contains " + internal::quoted(s.substr(i, len == 0 ? 1 : len)) +
                             "; write digits only)");
    }
  }
  if (digits.size() != 15) {
    std::string msg = "ICE must be 15 digits, got " + internal::quoted(s) + " (" +
                      internal::plural(digits.size(), "digit") + ")";
    if (digits.size() >= 12 && digits.size() < 15) {
      msg +=
          "; if a spreadsheet dropped its leading zeros, format the column as text and "
          "type the ICE again";
    }
    return Status::invalid(msg);
  }
  if (digits.find_first_not_of('0') == std::string::npos) {
    return Status::invalid("ICE " + internal::quoted(s) +
                           " is all zeros; give the exporter's real ICE");
  }
  return digits;
}

// --- HS codes -------------------------------------------------------------------------------

/// HS code (Harmonized System, Moroccan tariff up to 10 digits): 6, 8 or 10 digits; dots and
/// spaces are separators and are removed ("5701.10" → "570110", "0901 11 00 00" →
/// "0901110000"). The chapter (first 2 digits) must be 01..97: 00 does not exist, 77 is
/// reserved by the HS, 98 and 99 are for national use. Headings are not checked against the
/// nomenclature.
/// @return the digits only. Errors, e.g. "HS code must have 6, 8 or 10 digits (e.g. 5701.10
/// or 5701.10.00.00), got '5701' (4 digits)".
inline Result<std::string> hsCode(std::string_view input) {
  const std::string_view s = internal::trim(input);
  const std::string expected = "6, 8 or 10 digits (e.g. 5701.10 or 5701.10.00.00)";
  if (s.empty()) {
    return Status::invalid("HS code is empty; " + expected + " are expected");
  }
  std::string digits;
  for (size_t i = 0; i < s.size();) {
    if (const size_t n = internal::numberSpaceAt(s, i); n > 0) {
      i += n;
    } else if (s[i] == '.') {
      ++i;
    } else if (internal::isDigit(s[i])) {
      digits += s[i++];
    } else {
      return Status::invalid("HS code must have " + expected + ", got " + internal::quoted(s) +
                             " (only digits, dots and spaces are allowed)");
    }
  }
  if (digits.size() != 6 && digits.size() != 8 && digits.size() != 10) {
    std::string msg = "HS code must have " + expected + ", got " + internal::quoted(s) + " (" +
                      internal::plural(digits.size(), "digit") + ")";
    if (digits.size() == 5 || digits.size() == 7 || digits.size() == 9) {
      msg +=
          "; if a spreadsheet dropped a leading 0 (chapters 01 to 09), format the column "
          "as text and type the code again";
    }
    return Status::invalid(msg);
  }
  const std::string chapter = digits.substr(0, 2);
  const std::string where = "HS code " + internal::quoted(s) + " has chapter " + chapter;
  if (chapter == "00") {
    return Status::invalid(where + ", which does not exist; chapters run from 01 to 97");
  }
  if (chapter == "77") {
    return Status::invalid(where +
                           ", which the Harmonized System reserves and which holds no goods; "
                           "check the code (chapters run from 01 to 97)");
  }
  if (chapter >= "98") {
    return Status::invalid(where +
                           ", which is reserved for national use; give the goods' HS code "
                           "(chapters 01 to 97)");
  }
  return digits;
}

/// The 4-digit heading of a code normalised by hsCode() ("570110" → "5701"): used to count
/// "mono-product" exporters. PRECONDITION: `code` came from hsCode().
inline std::string hsHeading(std::string_view code) { return std::string(code.substr(0, 4)); }

/// The 2-digit chapter of a code normalised by hsCode() ("570110" → "57").
/// PRECONDITION: `code` came from hsCode().
inline std::string hsChapter(std::string_view code) { return std::string(code.substr(0, 2)); }

// --- Countries ------------------------------------------------------------------------------

/// The 249 officially assigned ISO 3166-1 alpha-2 codes, sorted.
inline constexpr std::array<std::string_view, 249> kCountryCodes = {
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
};

/// True when `code` (exactly two upper-case letters) is in kCountryCodes.
inline bool isCountryCode(std::string_view code) {
  return std::binary_search(kCountryCodes.begin(), kCountryCodes.end(), code);
}

namespace internal {
struct CountryHint {
  std::string_view code;
  std::string_view hint;
};
// Codes people write that ISO 3166-1 does not assign (reserved, withdrawn or informal).
inline constexpr std::array<CountryHint, 17> kCountryHints = {{
    {"UK", "use GB for the United Kingdom"},
    {"EU", "the European Union is not a country; give the member state (e.g. FR, ES, DE)"},
    {"EL", "use GR for Greece"},
    {"FX", "use FR for France"},
    {"IC", "use ES for the Canary Islands"},
    {"AC", "use SH for Ascension Island"},
    {"TA", "use SH for Tristan da Cunha"},
    {"DG", "use IO for Diego Garcia"},
    {"CP", "use FR for Clipperton Island"},
    {"ZR", "ZR was withdrawn; use CD for the Democratic Republic of the Congo"},
    {"TP", "TP was withdrawn; use TL for Timor-Leste"},
    {"YU", "YU was withdrawn; use RS (Serbia) or ME (Montenegro)"},
    {"CS", "CS was withdrawn; use RS (Serbia) or ME (Montenegro)"},
    {"SU", "SU was withdrawn; use RU for Russia or the code of the successor state"},
    {"AN", "AN was withdrawn; use CW (Curacao), SX (Sint Maarten) or BQ (Bonaire)"},
    {"BU", "BU was withdrawn; use MM for Myanmar"},
    {"DD", "DD was withdrawn; use DE for Germany"},
}};
}  // namespace internal

/// A country: an assigned ISO 3166-1 alpha-2 code, any case, surrounding spaces ignored
/// ("fr " → "FR").
/// @return the upper-case code. Errors, e.g. "country must be an ISO 3166-1 alpha-2 code,
/// got 'uk': use GB for the United Kingdom"; 3-letter codes and names are refused with an
/// example of the 2-letter form.
inline Result<std::string> country(std::string_view input) {
  const std::string_view s = internal::trim(input);
  const std::string expected =
      "country must be an ISO 3166-1 alpha-2 code (2 letters, e.g. FR, "
      "ES, US), got ";
  if (s.empty()) {
    return Status::invalid(
        "country is empty; an ISO 3166-1 alpha-2 code (2 letters, e.g. FR, "
        "ES, US) is expected");
  }
  const bool letters = std::all_of(s.begin(), s.end(), internal::isAsciiLetter);
  if (s.size() != 2 || !letters) {
    return Status::invalid(
        expected + internal::quoted(s) +
        (letters && s.size() == 3 ? " (3 letters; ISO alpha-3 is not used)" : ""));
  }
  std::string code = internal::upper(s);
  if (isCountryCode(code)) {
    return code;
  }
  for (const auto& h : internal::kCountryHints) {
    if (h.code == code) {
      return Status::invalid("country " + internal::quoted(s) +
                             " is not an ISO 3166-1 alpha-2 code: " + std::string(h.hint));
    }
  }
  return Status::invalid("country " + internal::quoted(s) +
                         " is not an assigned ISO 3166-1 alpha-2 code; check the code (e.g. FR, "
                         "ES, US)");
}

/// An export destination: country() but not MA (an export leaves Morocco) and not EH (the
/// southern provinces are Moroccan regions MA-10..MA-12: shipping there is not an export).
inline Result<std::string> destination(std::string_view input) {
  auto code = country(input);
  if (!code) {
    return code.status();
  }
  if (*code == "MA") {
    return Status::invalid(
        "destination 'MA' is Morocco itself; an export needs a foreign "
        "destination country");
  }
  if (*code == "EH") {
    return Status::invalid(
        "destination 'EH' is not used: the southern provinces lie in Moroccan "
        "regions (MA-10 to MA-12), so a shipment there is not an export");
  }
  return code;
}

// --- Regions --------------------------------------------------------------------------------

/// One of Morocco's 12 regions (2015 division), by its ISO 3166-2:MA code.
struct RegionInfo {
  std::string_view code;     ///< "MA-01" … "MA-12"
  std::string_view name_fr;  ///< official French name, UTF-8
  std::string_view name_ar;  ///< official Arabic name, UTF-8
};

/// The 12 regions, in code order.
inline constexpr std::array<RegionInfo, 12> kRegions = {{
    {"MA-01", "Tanger-Tétouan-Al Hoceïma", "طنجة-تطوان-الحسيمة"},
    {"MA-02", "L'Oriental", "الشرق"},
    {"MA-03", "Fès-Meknès", "فاس-مكناس"},
    {"MA-04", "Rabat-Salé-Kénitra", "الرباط-سلا-القنيطرة"},
    {"MA-05", "Béni Mellal-Khénifra", "بني ملال-خنيفرة"},
    {"MA-06", "Casablanca-Settat", "الدار البيضاء-سطات"},
    {"MA-07", "Marrakech-Safi", "مراكش-آسفي"},
    {"MA-08", "Drâa-Tafilalet", "درعة-تافيلالت"},
    {"MA-09", "Souss-Massa", "سوس-ماسة"},
    {"MA-10", "Guelmim-Oued Noun", "كلميم-واد نون"},
    {"MA-11", "Laâyoune-Sakia El Hamra", "العيون-الساقية الحمراء"},
    {"MA-12", "Dakhla-Oued Ed-Dahab", "الداخلة-وادي الذهب"},
}};

/// The region with this exact code ("MA-06"), or nullptr.
/// OWNERSHIP: points into kRegions (static).
inline const RegionInfo* findRegion(std::string_view code) {
  for (const auto& r : kRegions) {
    if (r.code == code) {
      return &r;
    }
  }
  return nullptr;
}

/// A region code: "MA-01" … "MA-12", any case, surrounding spaces ignored; a single digit is
/// accepted and padded ("ma-6" → "MA-06"). Bare numbers, names and codes 13..16 (the 16 regions
/// before 2015) are refused.
/// @return the canonical code. Errors, e.g. "region 'MA-13' is not a region code; write MA-01
/// to MA-12 (the 12 regions of 2015)".
inline Result<std::string> region(std::string_view input) {
  const std::string_view s = internal::trim(input);
  const std::string expected = "write MA-01 to MA-12 (the 12 regions of 2015)";
  if (s.empty()) {
    return Status::invalid("region is empty; " + expected);
  }
  int64_t n = 0;
  if (s.size() >= 4 && internal::iequals(s.substr(0, 3), "MA-") &&
      internal::digitsValue(s.substr(3), 2, n)) {
    if (n >= 1 && n <= 12) {
      return "MA-" + internal::twoDigits(n);
    }
    return Status::invalid("region " + internal::quoted(s) + " is not a region code; " + expected);
  }
  if (internal::digitsValue(s, 2, n) && n >= 1 && n <= 12) {
    return Status::invalid("region " + internal::quoted(s) +
                           " is not a region code; write it as MA-" + internal::twoDigits(n));
  }
  return Status::invalid("region " + internal::quoted(s) + " is not a region code; " + expected);
}

// --- Dates and periods ----------------------------------------------------------------------

/// Earliest and latest year accepted in dates and periods.
inline constexpr int64_t kMinYear = 1900;
inline constexpr int64_t kMaxYear = 2100;

namespace internal {
// Splits "a<sep>b<sep>c" (one separator kind among - / .) into digit groups; false otherwise.
inline bool splitDateGroups(std::string_view s, std::vector<std::string_view>& groups, char& sep) {
  groups.clear();
  sep = 0;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '-' || s[i] == '/' || s[i] == '.') {
      if (i < s.size()) {
        if (sep != 0 && s[i] != sep) {
          return false;
        }
        sep = s[i];
      }
      const std::string_view g = s.substr(start, i - start);
      if (g.empty() || !std::all_of(g.begin(), g.end(), isDigit)) {
        return false;
      }
      groups.push_back(g);
      start = i + 1;
    }
  }
  return true;
}

// True for a midnight time "H:MM", "HH:MM", "HH:MM:SS" or "HH:MM:SS.fff" (all zero). Sets
// `is_time` when `t` is a well-formed time of day, midnight or not.
inline bool isMidnight(std::string_view t, bool& is_time) {
  is_time = false;
  std::array<std::string_view, 3> parts;
  size_t n = 0;
  for (size_t start = 0; n < 3;) {
    const size_t colon = t.find(':', start);
    parts[n++] = t.substr(start, colon == std::string_view::npos ? colon : colon - start);
    if (colon == std::string_view::npos) {
      break;
    }
    start = colon + 1;
    if (n == 3) {
      return false;  // a fourth field
    }
  }
  int64_t hh = 0;
  int64_t mm = 0;
  int64_t ss = 0;
  int64_t frac = 0;
  if (n < 2 || !digitsValue(parts[0], 2, hh) || parts[1].size() != 2 ||
      !digitsValue(parts[1], 2, mm)) {
    return false;
  }
  if (n == 3) {
    const size_t dot = parts[2].find('.');
    const std::string_view sec = parts[2].substr(0, dot);
    if (sec.size() != 2 || !digitsValue(sec, 2, ss) ||
        (dot != std::string_view::npos && !digitsValue(parts[2].substr(dot + 1), 9, frac))) {
      return false;
    }
  }
  if (hh > 23 || mm > 59 || ss > 59) {
    return false;
  }
  is_time = true;
  return hh == 0 && mm == 0 && ss == 0 && frac == 0;
}

inline Result<Date> checkedDate(std::string_view shown, int64_t y, int64_t m, int64_t d,
                                bool day_first) {
  const std::string what = "date " + quoted(shown);
  if (y < kMinYear || y > kMaxYear) {
    return Status::invalid(what + " has year " + std::to_string(y) + "; years " +
                           std::to_string(kMinYear) + " to " + std::to_string(kMaxYear) +
                           " are accepted");
  }
  if (m < 1 || m > 12) {
    std::string msg = what + " has month " + std::to_string(m) + ", which does not exist";
    if (day_first && d >= 1 && d <= 12) {
      msg += "; dates are read day first (DD/MM/YYYY): was it written month first?";
    }
    return Status::invalid(msg);
  }
  const unsigned dim = exportsync::detail::daysInMonth(y, static_cast<unsigned>(m));
  if (d < 1 || d > static_cast<int64_t>(dim)) {
    if (m == 2 && d == 29) {
      return Status::invalid(what + " does not exist: " + std::to_string(y) +
                             " is not a leap year (February has 28 days)");
    }
    return Status::invalid(what + " does not exist: " + monthName(m) + " " + std::to_string(y) +
                           " has " + std::to_string(dim) + " days");
  }
  return *Date::fromYmd(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
}
}  // namespace internal

/// A calendar date, read in one of these forms (day and month may have 1 or 2 digits):
///   YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD            year first
///   DD/MM/YYYY, DD-MM-YYYY, DD.MM.YYYY            day first (French); never month first
/// optionally followed by a midnight time, as spreadsheet readers write a date cell:
/// "2024-03-15 00:00:00", "15/03/2024 00:00", "2024-03-15T00:00:00". Another time of day is
/// refused (the value is a timestamp, not a date). Only real days (leap years included) of
/// years 1900..2100. Two-digit years are refused.
/// @return the date. Errors, e.g. "date '29/02/2023' does not exist: 2023 is not a leap year
/// (February has 28 days)".
inline Result<Date> date(std::string_view input) {
  const std::string_view s = internal::trim(input);
  const std::string forms = "write YYYY-MM-DD or DD/MM/YYYY (e.g. 2024-03-15 or 15/03/2024)";
  if (s.empty()) {
    return Status::invalid("date is empty; " + forms);
  }
  const std::string what = "date " + internal::quoted(s);
  std::string_view day_part = s;
  const size_t cut = s.find_first_of(" T");
  if (cut != std::string_view::npos) {
    day_part = s.substr(0, cut);
    bool is_time = false;
    const std::string_view time_part = internal::trim(s.substr(cut + 1));
    if (!internal::isMidnight(time_part, is_time)) {
      if (is_time) {
        return Status::invalid(what + " has a time of day (" + std::string(time_part) +
                               "); a date alone is expected");
      }
      return Status::invalid(what + " is not a date; " + forms);
    }
  }
  std::vector<std::string_view> g;
  char sep = 0;
  if (!internal::splitDateGroups(day_part, g, sep) || g.size() != 3) {
    if (!day_part.empty() && day_part.size() <= 6 &&
        std::all_of(day_part.begin(), day_part.end(), internal::isDigit)) {
      return Status::invalid(what +
                             " is a number, maybe a spreadsheet serial day; format the column "
                             "as a date or " +
                             forms);
    }
    return Status::invalid(what + " is not a date; " + forms);
  }
  int64_t y = 0;
  int64_t m = 0;
  int64_t d = 0;
  if (g[0].size() == 4 && internal::digitsValue(g[0], 4, y) && internal::digitsValue(g[1], 2, m) &&
      internal::digitsValue(g[2], 2, d)) {
    return internal::checkedDate(s, y, m, d, false);
  }
  if (g[2].size() == 4 && internal::digitsValue(g[0], 2, d) && internal::digitsValue(g[1], 2, m) &&
      internal::digitsValue(g[2], 4, y)) {
    return internal::checkedDate(s, y, m, d, true);
  }
  if (g[2].size() == 2 && g[0].size() <= 2 && g[1].size() <= 2) {
    return Status::invalid(what + " has a 2-digit year; write the year with 4 digits (e.g. " +
                           "15/03/2024)");
  }
  return Status::invalid(what + " is not a date; " + forms);
}

/// A calendar month, e.g. the period of an export flow. Valid when 1900 <= year <= 2100 and
/// 1 <= month <= 12; the default value is invalid.
struct Period {
  int32_t year = 0;
  int32_t month = 0;

  /// The month a date falls in.
  static Period of(Date d) {
    const auto c = exportsync::detail::civilFromDays(d.days());
    return {static_cast<int32_t>(c.year), static_cast<int32_t>(c.month)};
  }
  [[nodiscard]] bool isValid() const {
    return year >= kMinYear && year <= kMaxYear && month >= 1 && month <= 12;
  }
  /// "YYYY-MM", e.g. "2024-03": the form stored in datasets (sorts in time order).
  [[nodiscard]] std::string toString() const {
    std::array<char, 32> buf{};
    std::snprintf(buf.data(), buf.size(), "%04d-%02d", static_cast<int>(year),
                  static_cast<int>(month));
    return buf.data();
  }
  /// The first day of the month. PRECONDITION: isValid().
  [[nodiscard]] Date firstDay() const {
    return Date::fromDays(exportsync::detail::daysFromCivil(year, static_cast<unsigned>(month), 1));
  }
  friend bool operator==(Period a, Period b) { return a.year == b.year && a.month == b.month; }
  friend bool operator!=(Period a, Period b) { return !(a == b); }
  friend bool operator<(Period a, Period b) {
    return a.year != b.year ? a.year < b.year : a.month < b.month;
  }
};

/// A month: "2024-03", "2024/03", "03/2024", "3/2024", "03-2024", "03.2024", or a full date
/// accepted by date() (a spreadsheet often turns "03/2024" into the date 01/03/2024), which
/// gives its month. Years 1900..2100.
/// @return the period. Errors, e.g. "period '2024-13' has month 13, which does not exist".
inline Result<Period> period(std::string_view input) {
  const std::string_view s = internal::trim(input);
  const std::string forms = "write YYYY-MM or MM/YYYY (e.g. 2024-03 or 03/2024)";
  if (s.empty()) {
    return Status::invalid("period is empty; " + forms);
  }
  const std::string what = "period " + internal::quoted(s);
  std::vector<std::string_view> g;
  char sep = 0;
  if (s.find_first_of(" T") == std::string_view::npos && internal::splitDateGroups(s, g, sep) &&
      g.size() == 2) {
    int64_t y = 0;
    int64_t m = 0;
    const bool year_first =
        g[0].size() == 4 && internal::digitsValue(g[0], 4, y) && internal::digitsValue(g[1], 2, m);
    const bool month_first = !year_first && g[1].size() == 4 && internal::digitsValue(g[0], 2, m) &&
                             internal::digitsValue(g[1], 4, y);
    if (!year_first && !month_first) {
      return Status::invalid(what + " is not a month; " + forms);
    }
    if (y < kMinYear || y > kMaxYear) {
      return Status::invalid(what + " has year " + std::to_string(y) + "; years " +
                             std::to_string(kMinYear) + " to " + std::to_string(kMaxYear) +
                             " are accepted");
    }
    if (m < 1 || m > 12) {
      return Status::invalid(what + " has month " + std::to_string(m) + ", which does not exist");
    }
    return Period{static_cast<int32_t>(y), static_cast<int32_t>(m)};
  }
  if (internal::splitDateGroups(s.substr(0, s.find_first_of(" T")), g, sep) && g.size() == 3) {
    auto d = date(s);
    if (!d) {
      return d.status();
    }
    return Period::of(*d);
  }
  return Status::invalid(what + " is not a month; " + forms);
}

// --- Numbers: amounts, quantities, integers --------------------------------------------------

/// Which character a source uses as its decimal mark.
enum class DecimalMark {
  /// Decided per value (the default): see docs/datasets.md. When both ',' and '.' appear, the
  /// last one is the decimal mark; a lone ',' or '.' followed by exactly 3 digits (e.g.
  /// "1,234", "1.234") could be a thousands separator or a decimal mark: it is refused as
  /// ambiguous, unless spaces group the thousands ("1 234,567": decimal) or the integer part
  /// cannot be a thousands group ("0,123", "1234,567": decimal).
  Auto,
  /// ',' is the decimal mark; '.' and spaces separate thousands (French files).
  Comma,
  /// '.' is the decimal mark; ',' and spaces separate thousands (English files).
  Point,
};

namespace internal {
struct DecimalParts {
  bool negative = false;
  std::string int_digits;   // at least one digit, thousands separators removed
  std::string frac_digits;  // possibly empty
};

// Parses [+-]digits with thousands separators and at most one decimal mark. `what` names the
// value in messages, e.g. "amount '1,234'".
inline Result<DecimalParts> parseDecimal(std::string_view s, DecimalMark mark,
                                         const std::string& what) {
  const std::string example =
      "write digits with an optional decimal mark, e.g. 1234,50 or "
      "1 234,50";
  DecimalParts out;
  size_t i = 0;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    out.negative = s[0] == '-';
    i = 1;
  }
  std::vector<std::string_view> groups;
  std::vector<char> seps;  // seps[k] sits between groups[k] and groups[k + 1]; ' ' for spaces
  auto not_a_number = [&] {
    if ((s.find('E') != std::string_view::npos || s.find('e') != std::string_view::npos) &&
        std::any_of(s.begin(), s.end(), isDigit)) {
      return Status::invalid(what +
                             " is written in scientific notation; format the spreadsheet "
                             "column as a plain number");
    }
    return Status::invalid(what + " is not a number; " + example);
  };
  while (true) {
    const size_t start = i;
    while (i < s.size() && isDigit(s[i])) {
      ++i;
    }
    if (i == start) {
      return not_a_number();
    }
    groups.push_back(s.substr(start, i - start));
    if (i == s.size()) {
      break;
    }
    if (const size_t n = numberSpaceAt(s, i); n > 0) {
      seps.push_back(' ');
      i += n;
    } else if (s[i] == ',' || s[i] == '.') {
      seps.push_back(s[i]);
      ++i;
    } else {
      return not_a_number();
    }
  }
  const auto n_comma = static_cast<size_t>(std::count(seps.begin(), seps.end(), ','));
  const auto n_point = static_cast<size_t>(std::count(seps.begin(), seps.end(), '.'));
  const auto n_space = static_cast<size_t>(std::count(seps.begin(), seps.end(), ' '));
  size_t last_punct = seps.size();  // index of the last ',' or '.', if any
  for (size_t k = 0; k < seps.size(); ++k) {
    if (seps[k] != ' ') {
      last_punct = k;
    }
  }
  char declared = 0;  // the declared decimal mark, 0 under Auto
  if (mark == DecimalMark::Comma) {
    declared = ',';
  } else if (mark == DecimalMark::Point) {
    declared = '.';
  }
  size_t dec = seps.size();  // index of the decimal mark, or seps.size() when none
  if (n_comma > 0 && n_point > 0) {
    const char c = seps[last_punct];
    if ((c == ',' ? n_comma : n_point) != 1) {
      return Status::invalid(what + " mixes ',' and '.' in a way that is not a number; " + example);
    }
    if (declared != 0 && c != declared) {
      return Status::invalid(what + " uses '" + std::string(1, c) +
                             "' as its decimal mark, but this source is read with '" +
                             std::string(1, declared) + "'");
    }
    dec = last_punct;
  } else if (n_comma + n_point == 1) {
    const char c = seps[last_punct];
    if (declared != 0) {
      dec = c == declared ? last_punct : seps.size();
    } else if (groups[last_punct + 1].size() != 3 || n_space > 0 || groups[0].size() > 3 ||
               groups[0][0] == '0') {
      dec = last_punct;
    } else {
      const std::string head(groups[0]);
      const std::string tail(groups[1]);
      return Status::invalid(what + " is ambiguous: it may mean " + head + tail + " or " + head +
                             "." + tail + "; write whole numbers without '" + std::string(1, c) +
                             "' (e.g. " + head + tail + " or " + head + " " + tail +
                             "), or set the source's decimal mark");
    }
  } else if (n_comma + n_point > 1 && declared != 0 && (declared == ',' ? n_comma : n_point) > 1) {
    return Status::invalid(what + " has several decimal marks '" + std::string(1, declared) + "'");
  }
  if (dec != seps.size() && dec != seps.size() - 1) {
    return Status::invalid(what + " has a separator after its decimal mark; " + example);
  }
  // Thousands separators: one kind only, groups of exactly 3 digits after the first.
  char thousands = 0;
  const size_t n_int_groups = dec == seps.size() ? groups.size() : dec + 1;
  for (size_t k = 0; k + 1 < n_int_groups; ++k) {
    if (thousands != 0 && seps[k] != thousands) {
      return Status::invalid(what + " mixes thousands separators; use one kind, e.g. 1 234 567");
    }
    thousands = seps[k];
  }
  if (n_int_groups > 1) {
    bool ok = groups[0].size() <= 3 && groups[0][0] != '0';
    for (size_t k = 1; k < n_int_groups; ++k) {
      ok = ok && groups[k].size() == 3;
    }
    if (!ok) {
      return Status::invalid(what +
                             " has a misplaced thousands separator; thousands are grouped by 3 "
                             "digits, e.g. 1 234 567,50");
    }
  }
  for (size_t k = 0; k < n_int_groups; ++k) {
    out.int_digits.append(groups[k]);
  }
  if (dec != seps.size()) {
    out.frac_digits = std::string(groups[dec + 1]);
  }
  return out;
}

// Removes one currency marker (MAD, DH, DHS, any case, optional final '.') at the start or
// the end of `s`, then trims.
inline std::string_view stripCurrency(std::string_view s) {
  constexpr std::array<std::string_view, 3> kMarkers = {"mad", "dhs", "dh"};
  auto not_letter_at = [&s](size_t i) { return i >= s.size() || !isAsciiLetter(s[i]); };
  for (std::string_view m : kMarkers) {
    for (size_t dot = 0; dot <= 1; ++dot) {
      const size_t len = m.size() + dot;
      if (s.size() > len && iequals(s.substr(s.size() - len, m.size()), m) &&
          (dot == 0 || s.back() == '.') && !isAsciiLetter(s[s.size() - len - 1])) {
        return trim(s.substr(0, s.size() - len));
      }
    }
  }
  for (std::string_view m : kMarkers) {
    if (s.size() > m.size() && iequals(s.substr(0, m.size()), m) && not_letter_at(m.size())) {
      std::string_view rest = s.substr(m.size());
      if (!rest.empty() && rest[0] == '.') {
        rest.remove_prefix(1);
      }
      return trim(rest);
    }
  }
  return s;
}

inline bool mentionsForeignCurrency(std::string_view s) {
  const std::string u = upper(s);
  for (const char* c : {"EUR", "USD", "GBP", "\xE2\x82\xAC", "$", "\xC2\xA3"}) {
    if (u.find(c) != std::string::npos) {
      return true;
    }
  }
  return false;
}
}  // namespace internal

/// An amount of money in dirhams, possibly negative, as centimes. Accepted forms:
///   "1234", "1234.50", "1234,5", "1 234,50" (space, U+00A0 or U+202F between thousands),
///   "1.234,50" (French), "1,234.50" (English), with an optional currency marker MAD, DH or
///   Dhs before or after ("1 234,50 DH", "MAD 1234").
/// At most 2 decimals: more are refused, never rounded. A lone ',' or '.' followed by exactly
/// 3 digits ("1,234") is refused as ambiguous under DecimalMark::Auto (see DecimalMark).
/// @return the amount. Errors, e.g. "amount '12,345' is ambiguous: ...", "amount '10,125' has
/// 3 decimals; at most 2 are allowed (centimes): round it in the source", "amount '...' is too
/// large", "amount '100 EUR' is not in dirhams; convert it to MAD".
inline Result<Money> amount(std::string_view input, DecimalMark mark = DecimalMark::Auto) {
  const std::string_view trimmed = internal::trim(input);
  if (trimmed.empty()) {
    return Status::invalid("amount is empty; write a number such as 1 234,50");
  }
  const std::string what = "amount " + internal::quoted(trimmed);
  const std::string_view s = internal::stripCurrency(trimmed);
  if (internal::mentionsForeignCurrency(s)) {
    return Status::invalid(what + " is not in dirhams; convert it to MAD");
  }
  if (s.empty()) {
    return Status::invalid(what + " has no number");
  }
  auto parts = internal::parseDecimal(s, mark, what);
  if (!parts) {
    return parts.status();
  }
  if (parts->frac_digits.size() > 2) {
    return Status::invalid(what + " has " + std::to_string(parts->frac_digits.size()) +
                           " decimals; at most 2 are allowed (centimes): round it in the source");
  }
  std::string_view int_digits = parts->int_digits;
  int_digits.remove_prefix(std::min(int_digits.find_first_not_of('0'), int_digits.size() - 1));
  if (int_digits.size() > 17) {
    return Status::invalid(what + " is too large");
  }
  uint64_t centimes = 0;
  for (char c : int_digits) {
    centimes = centimes * 10 + static_cast<uint64_t>(c - '0');
  }
  std::string frac = parts->frac_digits;
  frac.resize(2, '0');
  centimes = centimes * 100 + static_cast<uint64_t>((frac[0] - '0') * 10 + (frac[1] - '0'));
  if (centimes > static_cast<uint64_t>(INT64_MAX)) {
    return Status::invalid(what + " is too large");
  }
  const auto value = static_cast<int64_t>(centimes);
  return Money::fromCentimes(parts->negative ? -value : value);
}

/// amount(), refusing negative amounts ("-0" is 0 and accepted).
inline Result<Money> nonNegativeAmount(std::string_view input,
                                       DecimalMark mark = DecimalMark::Auto) {
  auto m = amount(input, mark);
  if (m && m->centimes() < 0) {
    return Status::invalid("amount " + internal::quoted(internal::trim(input)) +
                           " is negative; an amount of 0 or more is expected");
  }
  return m;
}

/// A quantity: a non-negative decimal number in the forms amount() accepts, without currency,
/// with any number of decimals ("1 234,567" is 1234.567). The same ambiguity rule applies.
/// @return the value. Errors, e.g. "quantity '-5' is negative; ...", "quantity '12 kg' is not a
/// number; ... (the unit goes in its own column)".
inline Result<double> quantity(std::string_view input, DecimalMark mark = DecimalMark::Auto) {
  const std::string_view s = internal::trim(input);
  if (s.empty()) {
    return Status::invalid("quantity is empty; write a number such as 1 234,5");
  }
  const std::string what = "quantity " + internal::quoted(s);
  auto parts = internal::parseDecimal(s, mark, what);
  if (!parts) {
    if (std::any_of(s.begin(), s.end(), internal::isAsciiLetter) &&
        s.find_first_of("eE") == std::string_view::npos) {
      return Status::invalid(parts.status().message() + " (the unit goes in its own column)");
    }
    return parts.status();
  }
  const std::string plain =
      parts->int_digits + "." + (parts->frac_digits.empty() ? "0" : "") + parts->frac_digits;
  double value = 0;
  const auto r = std::from_chars(plain.data(), plain.data() + plain.size(), value);
  if (r.ec != std::errc() || !std::isfinite(value)) {
    return Status::invalid(what + " is too large");
  }
  if (parts->negative && value != 0) {
    return Status::invalid(what + " is negative; a quantity of 0 or more is expected");
  }
  return value;
}

/// A whole number within [min, max], in the forms amount() accepts without currency; a zero
/// fraction is accepted ("12,0" and "12.00" are 12, as spreadsheets write integers) and spaces
/// may separate thousands ("1 200").
/// @return the value. Errors, e.g. "number '2,5' is not a whole number", "number '1850' is out
/// of range; expected 1900 to 2100".
inline Result<int64_t> integer(std::string_view input, int64_t min = 0, int64_t max = INT64_MAX) {
  const std::string_view s = internal::trim(input);
  const std::string range = std::to_string(min) + " to " + std::to_string(max);
  if (s.empty()) {
    return Status::invalid("number is empty; a whole number from " + range + " is expected");
  }
  const std::string what = "number " + internal::quoted(s);
  auto parts = internal::parseDecimal(s, DecimalMark::Auto, what);
  if (!parts) {
    return parts.status();
  }
  if (parts->frac_digits.find_first_not_of('0') != std::string::npos) {
    return Status::invalid(what + " is not a whole number");
  }
  std::string_view digits = parts->int_digits;
  digits.remove_prefix(std::min(digits.find_first_not_of('0'), digits.size() - 1));
  const uint64_t limit = parts->negative ? 9223372036854775808ULL : 9223372036854775807ULL;
  uint64_t v = 0;
  bool overflow = digits.size() > 19;
  for (char c : digits) {
    if (overflow) {
      break;
    }
    const auto d = static_cast<uint64_t>(c - '0');
    overflow = v > (limit - d) / 10;
    v = v * 10 + d;
  }
  int64_t value = 0;
  if (!overflow) {
    value = parts->negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  }
  if (overflow || value < min || value > max) {
    return Status::invalid(what + " is out of range; expected " + range);
  }
  return value;
}

}  // namespace exportsync::validate
