// Validators for clerk-typed and spreadsheet values (validate.hpp).
#include "exportsync/validate.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>

namespace exportsync::validate {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// Message of a failed result; fails the test when the result is OK.
template <typename T>
std::string errorOf(const Result<T>& r) {
  EXPECT_FALSE(r.isOk());
  if (r.isOk()) {
    return "(accepted)";
  }
  EXPECT_EQ(r.status().code(), Code::Invalid);
  return r.status().message();
}

// U+00A0 NO-BREAK SPACE and U+202F NARROW NO-BREAK SPACE, as std::string to concatenate.
std::string nbsp() { return "\xC2\xA0"; }
std::string narrowNbsp() { return "\xE2\x80\xAF"; }

// --- ICE ------------------------------------------------------------------------------------

TEST(ValidateIce, AcceptsFifteenDigitsAndRemovesSpaces) {
  EXPECT_EQ(*ice("001525148000067"), "001525148000067");
  EXPECT_EQ(*ice("  001525148000067 "), "001525148000067");
  EXPECT_EQ(*ice("001525148 000067"), "001525148000067");
  EXPECT_EQ(*ice(nbsp() + "001 525 148 000 067" + nbsp()), "001525148000067");
}

TEST(ValidateIce, RefusesWrongLengthWithTheDigitCount) {
  EXPECT_EQ(errorOf(ice("00123")), "ICE must be 15 digits, got '00123' (5 digits)");
  EXPECT_THAT(errorOf(ice("0015251480000670")), HasSubstr("(16 digits)"));
  EXPECT_THAT(errorOf(ice("1")), HasSubstr("(1 digit)"));
  // A spreadsheet dropped two leading zeros.
  EXPECT_THAT(errorOf(ice("1525148000067")),
              AllOf(HasSubstr("(13 digits)"), HasSubstr("leading zeros")));
}

TEST(ValidateIce, RefusesLettersEmptyZerosAndScientificNotation) {
  EXPECT_THAT(errorOf(ice("00152514800006A")), HasSubstr("contains 'A'"));
  EXPECT_THAT(errorOf(ice("0015-2514-8000067")), HasSubstr("contains '-'"));
  EXPECT_THAT(errorOf(ice("")), HasSubstr("empty"));
  EXPECT_THAT(errorOf(ice("   ")), HasSubstr("empty"));
  EXPECT_THAT(errorOf(ice("000000000000000")), HasSubstr("all zeros"));
  EXPECT_THAT(errorOf(ice("1,52515E+12")), HasSubstr("scientific notation"));
}

TEST(ValidateIce, EscapesControlAndInvalidBytesInMessages) {
  const std::string msg = errorOf(ice(std::string("0015\x01\xFF", 6)));
  EXPECT_THAT(msg, HasSubstr("\\x01"));
  EXPECT_THAT(msg, HasSubstr("\\xFF"));
}

// --- HS codes -------------------------------------------------------------------------------

TEST(ValidateHsCode, NormalisesSeparatorsForSixEightAndTenDigits) {
  EXPECT_EQ(*hsCode("5701.10"), "570110");
  EXPECT_EQ(*hsCode("570110"), "570110");
  EXPECT_EQ(*hsCode(" 5701.10.00 "), "57011000");
  EXPECT_EQ(*hsCode("5701.10.00.00"), "5701100000");
  EXPECT_EQ(*hsCode("0901 11 00 00"), "0901110000");
  EXPECT_EQ(*hsCode("1509.20"), "150920");  // virgin olive oil
  EXPECT_EQ(*hsCode("97.01.10"), "970110");
  EXPECT_EQ(*hsCode("010121"), "010121");
}

TEST(ValidateHsCode, RefusesWrongLengths) {
  EXPECT_EQ(errorOf(hsCode("5701")),
            "HS code must have 6, 8 or 10 digits (e.g. 5701.10 or 5701.10.00.00), got '5701' "
            "(4 digits)");
  EXPECT_THAT(errorOf(hsCode("57011000001")), HasSubstr("(11 digits)"));
  EXPECT_THAT(errorOf(hsCode("10121")), AllOf(HasSubstr("(5 digits)"), HasSubstr("leading 0")));
  EXPECT_THAT(errorOf(hsCode("")), HasSubstr("empty"));
  EXPECT_THAT(errorOf(hsCode("5701-10")), HasSubstr("only digits, dots and spaces"));
  EXPECT_THAT(errorOf(hsCode("57O110")), HasSubstr("only digits"));
}

TEST(ValidateHsCode, RefusesChapters00And77And98And99) {
  EXPECT_THAT(errorOf(hsCode("001010")), AllOf(HasSubstr("chapter 00"), HasSubstr("01 to 97")));
  EXPECT_THAT(errorOf(hsCode("7701.00")), AllOf(HasSubstr("chapter 77"), HasSubstr("reserves")));
  EXPECT_THAT(errorOf(hsCode("9801.00")), AllOf(HasSubstr("chapter 98"), HasSubstr("national")));
  EXPECT_THAT(errorOf(hsCode("990100")), HasSubstr("chapter 99"));
  EXPECT_TRUE(hsCode("760110").isOk());
  EXPECT_TRUE(hsCode("780110").isOk());
  EXPECT_TRUE(hsCode("970500").isOk());
}

TEST(ValidateHsCode, HeadingAndChapter) {
  EXPECT_EQ(hsHeading(*hsCode("5701.10.00.00")), "5701");
  EXPECT_EQ(hsChapter(*hsCode("5701.10")), "57");
  EXPECT_EQ(hsChapter(*hsCode("0901.11")), "09");
}

// --- Countries ------------------------------------------------------------------------------

TEST(ValidateCountry, TableHas249SortedUniqueUpperCaseCodes) {
  EXPECT_EQ(kCountryCodes.size(), 249u);
  std::set<std::string_view> seen;
  for (size_t i = 0; i < kCountryCodes.size(); ++i) {
    const auto c = kCountryCodes[i];
    ASSERT_EQ(c.size(), 2u) << i;
    EXPECT_TRUE(c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z') << c;
    if (i > 0) {
      EXPECT_LT(kCountryCodes[i - 1], c);
    }
    seen.insert(c);
  }
  EXPECT_EQ(seen.size(), 249u);
  for (const char* c : {"FR", "ES", "US", "GB", "DE", "CN", "SN", "CI", "SS", "BQ", "CW",
                        "SX", "AX", "BL", "MF", "AQ", "BV", "HM", "UM", "TF", "MA", "EH"}) {
    EXPECT_TRUE(isCountryCode(c)) << c;
  }
  for (const char* c : {"UK", "EU", "XK", "AN", "YU", "ZZ", "fr"}) {
    EXPECT_FALSE(isCountryCode(c)) << c;
  }
}

TEST(ValidateCountry, AcceptsAnyCaseAndReturnsUpperCase) {
  EXPECT_EQ(*country("fr"), "FR");
  EXPECT_EQ(*country(" Es "), "ES");
  EXPECT_EQ(*country("us"), "US");
}

TEST(ValidateCountry, RefusesUkAndEuWithAHint) {
  EXPECT_THAT(errorOf(country("uk")), AllOf(HasSubstr("'uk'"), HasSubstr("use GB")));
  EXPECT_THAT(errorOf(country("UK")), HasSubstr("use GB"));
  EXPECT_THAT(errorOf(country("EU")), HasSubstr("member state"));
  EXPECT_THAT(errorOf(country("EL")), HasSubstr("GR"));
  EXPECT_THAT(errorOf(country("ZR")), HasSubstr("CD"));
}

TEST(ValidateCountry, RefusesAlpha3NamesAndUnknownCodes) {
  EXPECT_THAT(errorOf(country("FRA")), AllOf(HasSubstr("2 letters"), HasSubstr("alpha-3")));
  EXPECT_THAT(errorOf(country("France")), HasSubstr("e.g. FR"));
  EXPECT_THAT(errorOf(country("ZZ")), HasSubstr("not an assigned"));
  EXPECT_THAT(errorOf(country("F1")), HasSubstr("2 letters"));
  EXPECT_THAT(errorOf(country("")), HasSubstr("empty"));
}

TEST(ValidateDestination, RefusesMoroccoAndEh) {
  EXPECT_EQ(*destination("sn"), "SN");
  EXPECT_THAT(errorOf(destination("ma")), HasSubstr("Morocco itself"));
  EXPECT_THAT(errorOf(destination("EH")), HasSubstr("not an export"));
  EXPECT_THAT(errorOf(destination("uk")), HasSubstr("use GB"));
}

// --- Regions --------------------------------------------------------------------------------

TEST(ValidateRegion, TableHasTheTwelveRegionsWithFrenchAndArabicNames) {
  ASSERT_EQ(kRegions.size(), 12u);
  for (size_t i = 0; i < kRegions.size(); ++i) {
    const auto& r = kRegions[i];
    EXPECT_EQ(r.code, "MA-" + std::string(i < 9 ? "0" : "") + std::to_string(i + 1));
    EXPECT_FALSE(r.name_fr.empty());
    EXPECT_TRUE(isValidUtf8(r.name_fr));
    EXPECT_TRUE(isValidUtf8(r.name_ar));
    // Every Arabic name is in the Arabic block (lead bytes D8..DB).
    ASSERT_FALSE(r.name_ar.empty());
    EXPECT_GE(static_cast<unsigned char>(r.name_ar[0]), 0xD8) << r.code;
    EXPECT_LE(static_cast<unsigned char>(r.name_ar[0]), 0xDB) << r.code;
  }
  EXPECT_EQ(findRegion("MA-01")->name_fr, "Tanger-Tétouan-Al Hoceïma");
  EXPECT_EQ(findRegion("MA-06")->name_fr, "Casablanca-Settat");
  EXPECT_EQ(findRegion("MA-06")->name_ar, "الدار البيضاء-سطات");
  EXPECT_EQ(findRegion("MA-09")->name_fr, "Souss-Massa");
  EXPECT_EQ(findRegion("MA-09")->name_ar, "سوس-ماسة");
  EXPECT_EQ(findRegion("MA-12")->name_fr, "Dakhla-Oued Ed-Dahab");
  EXPECT_EQ(findRegion("MA-12")->name_ar, "الداخلة-وادي الذهب");
  EXPECT_EQ(findRegion("MA-13"), nullptr);
  EXPECT_EQ(findRegion("ma-06"), nullptr);  // exact canonical code only
}

TEST(ValidateRegion, AcceptsCanonicalLowerCaseAndSingleDigitForms) {
  EXPECT_EQ(*region("MA-06"), "MA-06");
  EXPECT_EQ(*region("ma-06"), "MA-06");
  EXPECT_EQ(*region(" Ma-12 "), "MA-12");
  EXPECT_EQ(*region("MA-1"), "MA-01");
  EXPECT_EQ(*region("ma-9"), "MA-09");
}

TEST(ValidateRegion, RefusesOtherForms) {
  EXPECT_THAT(errorOf(region("MA-13")), HasSubstr("MA-01 to MA-12"));
  EXPECT_THAT(errorOf(region("MA-16")), HasSubstr("regions of 2015"));
  EXPECT_THAT(errorOf(region("MA-00")), HasSubstr("not a region code"));
  EXPECT_THAT(errorOf(region("MA-006")), HasSubstr("not a region code"));
  EXPECT_THAT(errorOf(region("06")), HasSubstr("write it as MA-06"));
  EXPECT_THAT(errorOf(region("MA06")), HasSubstr("not a region code"));
  EXPECT_THAT(errorOf(region("Souss-Massa")), HasSubstr("not a region code"));
  EXPECT_THAT(errorOf(region("")), HasSubstr("empty"));
}

// --- Dates ----------------------------------------------------------------------------------

TEST(ValidateDate, AcceptsIsoFrenchAndSpreadsheetForms) {
  const auto want = *Date::fromYmd(2024, 3, 15);
  for (const char* s : {"2024-03-15", "15/03/2024", "15-03-2024", "15.03.2024", "2024/03/15",
                        "2024-03-15 00:00:00", "2024-03-15T00:00:00", "15/03/2024 00:00",
                        "2024-03-15 00:00:00.000", " 15/3/2024 ", "2024-3-15"}) {
    const auto d = date(s);
    ASSERT_TRUE(d.isOk()) << s << ": " << d.status().message();
    EXPECT_EQ(*d, want) << s;
  }
  EXPECT_EQ(*date("5/1/2024"), *Date::fromYmd(2024, 1, 5));  // day first, always
}

TEST(ValidateDate, LeapDays) {
  EXPECT_EQ(date("29/02/2024")->toIso(), "2024-02-29");
  EXPECT_EQ(date("2000-02-29")->toIso(), "2000-02-29");
  EXPECT_EQ(errorOf(date("29/02/2023")),
            "date '29/02/2023' does not exist: 2023 is not a leap year (February has 28 days)");
  EXPECT_THAT(errorOf(date("1900-02-29")), HasSubstr("not a leap year"));
  EXPECT_THAT(errorOf(date("2100-02-29")), HasSubstr("not a leap year"));
}

TEST(ValidateDate, RefusesDaysThatDoNotExist) {
  EXPECT_EQ(errorOf(date("31/04/2024")),
            "date '31/04/2024' does not exist: April 2024 has 30 days");
  EXPECT_THAT(errorOf(date("2024-02-30")), HasSubstr("February 2024 has 29 days"));
  EXPECT_THAT(errorOf(date("00/01/2024")), HasSubstr("does not exist"));
  EXPECT_THAT(errorOf(date("2024-13-01")), HasSubstr("month 13"));
  // Month first is not read: the message says dates are day first.
  EXPECT_THAT(errorOf(date("03/15/2024")), AllOf(HasSubstr("month 15"), HasSubstr("day first")));
}

TEST(ValidateDate, RefusesYearsOutside1900To2100) {
  EXPECT_TRUE(date("1900-01-01").isOk());
  EXPECT_TRUE(date("31/12/2100").isOk());
  EXPECT_THAT(errorOf(date("1899-12-31")), HasSubstr("1900 to 2100"));
  EXPECT_THAT(errorOf(date("01/01/2101")), HasSubstr("year 2101"));
}

TEST(ValidateDate, RefusesMalformedTextTimesAndTwoDigitYears) {
  EXPECT_THAT(errorOf(date("15/03/24")), HasSubstr("2-digit year"));
  EXPECT_THAT(errorOf(date("2024-03-15 14:30:00")), HasSubstr("time of day (14:30:00)"));
  EXPECT_THAT(errorOf(date("2024-03-15 00:00:01")), HasSubstr("time of day"));
  EXPECT_THAT(errorOf(date("45366")), HasSubstr("serial day"));
  EXPECT_THAT(errorOf(date("15/03-2024")), HasSubstr("not a date"));
  EXPECT_THAT(errorOf(date("15 mars 2024")), HasSubstr("not a date"));
  EXPECT_THAT(errorOf(date("2024-03-15 25:00:00")), HasSubstr("not a date"));
  EXPECT_THAT(errorOf(date("2024-03")), HasSubstr("not a date"));
  EXPECT_THAT(errorOf(date("")), HasSubstr("empty"));
}

// --- Periods --------------------------------------------------------------------------------

TEST(ValidatePeriod, AcceptsMonthFormsAndDates) {
  const Period want{2024, 3};
  for (const char* s : {"2024-03", "2024/03", "2024-3", "03/2024", "3/2024", "03-2024", "03.2024",
                        "01/03/2024", "2024-03-31", "2024-03-15 00:00:00"}) {
    const auto p = period(s);
    ASSERT_TRUE(p.isOk()) << s << ": " << p.status().message();
    EXPECT_EQ(*p, want) << s;
  }
  EXPECT_EQ(period("12/2023")->toString(), "2023-12");
}

TEST(ValidatePeriod, RefusesBadMonthsAndYears) {
  EXPECT_THAT(errorOf(period("2024-13")), HasSubstr("month 13"));
  EXPECT_THAT(errorOf(period("00/2024")), HasSubstr("month 0"));
  EXPECT_THAT(errorOf(period("1850-01")), HasSubstr("1900 to 2100"));
  EXPECT_THAT(errorOf(period("03/24")), HasSubstr("not a month"));
  EXPECT_THAT(errorOf(period("mars 2024")), HasSubstr("not a month"));
  EXPECT_THAT(errorOf(period("29/02/2023")), HasSubstr("not a leap year"));
  EXPECT_THAT(errorOf(period("")), HasSubstr("empty"));
}

TEST(ValidatePeriod, OfDateFirstDayOrderAndValidity) {
  EXPECT_EQ(Period::of(*Date::fromYmd(2024, 2, 29)), (Period{2024, 2}));
  EXPECT_EQ(Period::of(*Date::fromYmd(1999, 12, 31)).toString(), "1999-12");
  EXPECT_EQ((Period{2024, 3}).firstDay(), *Date::fromYmd(2024, 3, 1));
  EXPECT_LT((Period{2023, 12}), (Period{2024, 1}));
  EXPECT_FALSE(Period{}.isValid());
  EXPECT_FALSE((Period{2024, 13}).isValid());
  EXPECT_TRUE((Period{2024, 12}).isValid());
}

// --- Amounts --------------------------------------------------------------------------------

int64_t centimes(std::string_view s, DecimalMark mark = DecimalMark::Auto) {
  const auto m = amount(s, mark);
  EXPECT_TRUE(m.isOk()) << "'" << s << "': " << m.status().message();
  return m.isOk() ? m->centimes() : -1;
}

TEST(ValidateAmount, FrenchAndPlainForms) {
  EXPECT_EQ(centimes("1 234,50"), 123450);
  EXPECT_EQ(centimes("1" + nbsp() + "234,50"), 123450);
  EXPECT_EQ(centimes("1" + narrowNbsp() + "234" + narrowNbsp() + "567,5"), 123456750);
  EXPECT_EQ(centimes("1.234,50"), 123450);
  EXPECT_EQ(centimes("1.234.567,89"), 123456789);
  EXPECT_EQ(centimes("1234.50"), 123450);
  EXPECT_EQ(centimes("1234,5"), 123450);
  EXPECT_EQ(centimes("1234"), 123400);
  EXPECT_EQ(centimes("1,234.50"), 123450);
  EXPECT_EQ(centimes("1,234,567"), 123456700);
  EXPECT_EQ(centimes("1 234"), 123400);
  EXPECT_EQ(centimes("0,05"), 5);
  EXPECT_EQ(centimes("0"), 0);
  EXPECT_EQ(centimes("007"), 700);
  EXPECT_EQ(centimes("-12,50"), -1250);
  EXPECT_EQ(centimes("+12"), 1200);
  EXPECT_EQ(centimes(" 12 "), 1200);
}

TEST(ValidateAmount, CurrencyMarkersBeforeOrAfter) {
  EXPECT_EQ(centimes("1 234,50 MAD"), 123450);
  EXPECT_EQ(centimes("1 234,50 DH"), 123450);
  EXPECT_EQ(centimes("1234,50DH"), 123450);
  EXPECT_EQ(centimes("1 234,50 Dhs"), 123450);
  EXPECT_EQ(centimes("1 234,50 dhs."), 123450);
  EXPECT_EQ(centimes("MAD 1234.50"), 123450);
  EXPECT_EQ(centimes("DH 12"), 1200);
  EXPECT_EQ(centimes("-1 234,50 MAD"), -123450);
  EXPECT_THAT(errorOf(amount("100 EUR")), HasSubstr("not in dirhams"));
  EXPECT_THAT(errorOf(amount("\xE2\x82\xAC"
                             "100")),
              HasSubstr("not in dirhams"));
  EXPECT_THAT(errorOf(amount("MAD 100 MAD")), HasSubstr("not a number"));
  EXPECT_THAT(errorOf(amount("MAD")), HasSubstr("not a number"));
  EXPECT_THAT(errorOf(amount("100 DHX")), HasSubstr("not a number"));
}

TEST(ValidateAmount, RefusesMoreThanTwoDecimals) {
  EXPECT_EQ(errorOf(amount("10,125")),
            "amount '10,125' is ambiguous: it may mean 10125 or 10.125; write whole numbers "
            "without ',' (e.g. 10125 or 10 125), or set the source's decimal mark");
  EXPECT_EQ(errorOf(amount("1234,567")),
            "amount '1234,567' has 3 decimals; at most 2 are allowed (centimes): round it in the "
            "source");
  EXPECT_THAT(errorOf(amount("1 234,5678")), HasSubstr("has 4 decimals"));
  EXPECT_THAT(errorOf(amount("0,125")), HasSubstr("has 3 decimals"));
  EXPECT_THAT(errorOf(amount("1,234.567")), HasSubstr("has 3 decimals"));
  EXPECT_THAT(errorOf(amount("10,125", DecimalMark::Comma)), HasSubstr("has 3 decimals"));
}

TEST(ValidateAmount, AmbiguousSingleSeparatorWithThreeDigits) {
  // Auto: refused, naming both readings.
  EXPECT_THAT(errorOf(amount("1,234")), AllOf(HasSubstr("ambiguous"), HasSubstr("1234 or 1.234")));
  EXPECT_THAT(errorOf(amount("1.234")), HasSubstr("ambiguous"));
  EXPECT_THAT(errorOf(amount("999.000 DH")), HasSubstr("ambiguous"));
  // Not ambiguous: spaces group the thousands, or the first group cannot be a thousands group.
  EXPECT_THAT(errorOf(amount("1 234,567")), HasSubstr("3 decimals"));
  EXPECT_THAT(errorOf(amount("0.123")), HasSubstr("3 decimals"));
  // Several separators of one kind are thousands.
  EXPECT_EQ(centimes("1.234.567"), 123456700);
  // With a declared decimal mark the other character separates thousands.
  EXPECT_EQ(centimes("1.234", DecimalMark::Comma), 123400);
  EXPECT_EQ(centimes("1,234", DecimalMark::Point), 123400);
  EXPECT_EQ(centimes("1,5", DecimalMark::Comma), 150);
  EXPECT_EQ(centimes("1.5", DecimalMark::Point), 150);
  EXPECT_EQ(centimes("1.234,5", DecimalMark::Comma), 123450);
  EXPECT_THAT(errorOf(amount("1,234.50", DecimalMark::Comma)),
              HasSubstr("uses '.' as its decimal mark, but this source is read with ','"));
  EXPECT_THAT(errorOf(amount("1,2,3", DecimalMark::Comma)), HasSubstr("several decimal marks"));
  EXPECT_THAT(errorOf(amount("1.5", DecimalMark::Comma)), HasSubstr("misplaced thousands"));
}

// The notation table of docs/datasets.md ("Amounts"); -1 means refused.
TEST(ValidateAmount, DocumentedNotationTable) {
  struct Case {
    const char* input;
    int64_t auto_mark;
    int64_t comma;
    int64_t point;
  };
  const Case cases[] = {
      {"1 234,50", 123450, 123450, -1},
      {"1.234,50", 123450, 123450, -1},
      {"1,234.50", 123450, -1, 123450},
      {"1234,5", 123450, 123450, -1},
      {"1234.5", 123450, -1, 123450},
      {"1,234", -1, -1, 123400},
      {"1.234", -1, 123400, -1},
      {"1.234.567", 123456700, 123456700, -1},
      {"0,125", -1, -1, -1},
      {"1 234,50 DH", 123450, 123450, -1},
      {"MAD 1234.50", 123450, -1, 123450},
  };
  for (const auto& c : cases) {
    const std::pair<DecimalMark, int64_t> marks[] = {{DecimalMark::Auto, c.auto_mark},
                                                     {DecimalMark::Comma, c.comma},
                                                     {DecimalMark::Point, c.point}};
    for (const auto& [mark, want] : marks) {
      const auto got = amount(c.input, mark);
      EXPECT_EQ(got.isOk() ? got->centimes() : -1, want)
          << "'" << c.input << "' mark " << static_cast<int>(mark) << ": "
          << (got.isOk() ? "accepted" : got.status().message());
    }
  }
}

TEST(ValidateAmount, RefusesMalformedNumbers) {
  for (const char* bad : {"", "abc", "12a", ",50", "12,", "1,,5", "1 234,5 6", "--5", "1e5",
                          "(100)", "12,34,567", "12 34", "1.234,567,8", "1 234.567,50"}) {
    EXPECT_FALSE(amount(bad).isOk()) << "'" << bad << "' was accepted";
  }
  EXPECT_THAT(errorOf(amount("12,34,567")), HasSubstr("misplaced thousands"));
  EXPECT_THAT(errorOf(amount("1 234.567,50")), HasSubstr("mixes thousands separators"));
  EXPECT_THAT(errorOf(amount("1,5E+06")), HasSubstr("scientific notation"));
  EXPECT_THAT(errorOf(amount("")), HasSubstr("empty"));
}

TEST(ValidateAmount, OverflowIsRefused) {
  EXPECT_EQ(centimes("92233720368547758,07"), INT64_MAX);
  EXPECT_EQ(centimes("-92233720368547758,07"), -INT64_MAX);
  EXPECT_THAT(errorOf(amount("92233720368547758,08")), HasSubstr("too large"));
  EXPECT_THAT(errorOf(amount("100000000000000000")), HasSubstr("too large"));
  EXPECT_THAT(errorOf(amount("99999999999999999999999999")), HasSubstr("too large"));
  EXPECT_EQ(centimes("0000000000000000000000001"), 100);
}

TEST(ValidateAmount, NonNegativeVariantRefusesNegatives) {
  EXPECT_EQ(nonNegativeAmount("1 234,50")->centimes(), 123450);
  EXPECT_EQ(nonNegativeAmount("-0")->centimes(), 0);
  EXPECT_THAT(errorOf(nonNegativeAmount("-12,50")),
              AllOf(HasSubstr("'-12,50'"), HasSubstr("negative")));
  EXPECT_THAT(errorOf(nonNegativeAmount("1,234")), HasSubstr("ambiguous"));
}

// --- Quantities and integers ----------------------------------------------------------------

TEST(ValidateQuantity, FrenchAndPlainDecimals) {
  EXPECT_DOUBLE_EQ(*quantity("1 234,567"), 1234.567);
  EXPECT_DOUBLE_EQ(*quantity("1" + nbsp() + "234,5"), 1234.5);
  EXPECT_DOUBLE_EQ(*quantity("0,001"), 0.001);
  EXPECT_DOUBLE_EQ(*quantity("12.5"), 12.5);
  EXPECT_DOUBLE_EQ(*quantity("12"), 12.0);
  EXPECT_DOUBLE_EQ(*quantity("1.234.567,125"), 1234567.125);
  EXPECT_DOUBLE_EQ(*quantity("1,234", DecimalMark::Comma), 1.234);
  EXPECT_DOUBLE_EQ(*quantity("-0"), 0.0);
}

TEST(ValidateQuantity, RefusesNegativeAmbiguousAndUnits) {
  EXPECT_THAT(errorOf(quantity("-5")), HasSubstr("negative"));
  EXPECT_THAT(errorOf(quantity("1,234")), HasSubstr("ambiguous"));
  EXPECT_THAT(errorOf(quantity("12 kg")), HasSubstr("unit goes in its own column"));
  EXPECT_THAT(errorOf(quantity("")), HasSubstr("empty"));
  EXPECT_THAT(errorOf(quantity("12 DH")), HasSubstr("not a number"));
}

TEST(ValidateInteger, WholeNumbersInRange) {
  EXPECT_EQ(*integer("42"), 42);
  EXPECT_EQ(*integer("1 200"), 1200);
  EXPECT_EQ(*integer("12,0"), 12);
  EXPECT_EQ(*integer("12.00"), 12);
  EXPECT_EQ(*integer("2024", 1900, 2100), 2024);
  EXPECT_EQ(*integer("-5", -10, 10), -5);
  EXPECT_EQ(*integer("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(*integer("-9223372036854775808", INT64_MIN), INT64_MIN);
  EXPECT_THAT(errorOf(integer("9223372036854775808")), HasSubstr("out of range"));
  EXPECT_THAT(errorOf(integer("2,5")), HasSubstr("not a whole number"));
  EXPECT_THAT(errorOf(integer("1850", 1900, 2100)), HasSubstr("expected 1900 to 2100"));
  EXPECT_THAT(errorOf(integer("-1")), HasSubstr("out of range"));
  EXPECT_THAT(errorOf(integer("1.000")), HasSubstr("ambiguous"));
  EXPECT_THAT(errorOf(integer("douze")), HasSubstr("not a number"));
}

// --- Text and UTF-8 -------------------------------------------------------------------------

TEST(ValidateUtf8, ValidAndInvalidSequences) {
  EXPECT_TRUE(isValidUtf8(""));
  EXPECT_TRUE(isValidUtf8("Coopérative Tighanimine"));
  EXPECT_TRUE(isValidUtf8("تعاونية"));
  EXPECT_TRUE(isValidUtf8("\xF0\x9F\x93\xA6"));   // U+1F4E6
  EXPECT_TRUE(isValidUtf8("\xF4\x8F\xBF\xBF"));   // U+10FFFF
  EXPECT_FALSE(isValidUtf8("Coop\xE9rative"));    // Latin-1 é
  EXPECT_FALSE(isValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(isValidUtf8("\xE0\x80\xAF"));      // overlong
  EXPECT_FALSE(isValidUtf8("\xED\xA0\x80"));      // surrogate U+D800
  EXPECT_FALSE(isValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(isValidUtf8("\xE2\x82"));          // truncated
  EXPECT_FALSE(isValidUtf8("\x80"));
  EXPECT_EQ(utf8Length("Fès"), 3u);
  EXPECT_EQ(utf8Length("تعاونية"), 7u);
}

TEST(ValidateText, TrimsAndChecksLength) {
  EXPECT_EQ(*text("  Tapis Beni Ouarain  "), "Tapis Beni Ouarain");
  EXPECT_EQ(*text(nbsp() + "Fès" + nbsp()), "Fès");
  EXPECT_EQ(*text("تعاونية أركان", 13), "تعاونية أركان");  // 13 characters, 25 bytes
  EXPECT_EQ(errorOf(text("تعاونية أركان", 12)),
            "text 'تعاونية أركان' is 13 characters long; at most 12 are allowed");
  EXPECT_EQ(errorOf(text("   ")), "text is empty; a value is required");
  EXPECT_THAT(errorOf(text("")), HasSubstr("empty"));
}

TEST(ValidateText, RefusesInvalidUtf8AndControlCharacters) {
  EXPECT_THAT(errorOf(text("Coop\xE9rative")),
              AllOf(HasSubstr("not valid UTF-8"), HasSubstr("0xE9 at position 5"),
                    HasSubstr("Windows-1252")));
  EXPECT_THAT(errorOf(text("line\nbreak")), HasSubstr("control character"));
  EXPECT_THAT(errorOf(text("tab\there")), HasSubstr("control character"));
  EXPECT_THAT(errorOf(text("c1\xC2\x85here")), HasSubstr("control character"));
  EXPECT_TRUE(text("trailing newline\r\n").isOk());
}

TEST(ValidateText, OptionalTextTreatsBlankAsNoValue) {
  EXPECT_FALSE(optionalText("")->has_value());
  EXPECT_FALSE(optionalText("  ")->has_value());
  EXPECT_EQ(**optionalText(" Agadir "), "Agadir");
  EXPECT_FALSE(optionalText("\xFF").isOk());
  EXPECT_FALSE(optionalText(std::string(201, 'x')).isOk());
}

TEST(ValidateMessages, QuoteLongInputShortly) {
  const std::string msg = errorOf(hsCode(std::string(500, 'x')));
  EXPECT_THAT(msg, HasSubstr("..."));
  EXPECT_LT(msg.size(), 200u);
  EXPECT_THAT(msg, Not(HasSubstr(std::string(100, 'x'))));
}

}  // namespace
}  // namespace exportsync::validate
