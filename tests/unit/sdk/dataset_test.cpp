// SDK value types and declaration checks (dataset.hpp, status.hpp).
#include "exportsync/dataset.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "exportsync/status.hpp"

namespace exportsync {
namespace {

// --- Date -----------------------------------------------------------------------------------

TEST(Date, EpochAndKnownDays) {
  EXPECT_EQ(Date::fromYmd(1970, 1, 1)->days(), 0);
  EXPECT_EQ(Date::fromYmd(1969, 12, 31)->days(), -1);
  EXPECT_EQ(Date::fromYmd(2000, 3, 1)->days(), 11017);
  EXPECT_EQ(Date::fromYmd(1, 1, 1)->days(), -719162);
  EXPECT_EQ(Date::fromYmd(9999, 12, 31)->days(), 2932896);
}

TEST(Date, IsoRoundTripsAcrossTheWholeRange) {
  for (const char* iso : {"0001-01-01", "0400-02-29", "1582-10-15", "1969-12-31", "1970-01-01",
                          "2000-02-29", "2024-02-29", "2100-12-31", "9999-12-31"}) {
    const auto d = Date::parseIso(iso);
    ASSERT_TRUE(d.has_value()) << iso;
    EXPECT_EQ(d->toIso(), iso);
    EXPECT_EQ(Date::fromDays(d->days()), *d);
  }
  // Every day of four centuries survives days → ISO → days.
  for (int64_t days = -146097; days <= 146097; days += 7) {
    const auto back = Date::parseIso(Date::fromDays(days).toIso());
    ASSERT_TRUE(back.has_value()) << days;
    ASSERT_EQ(back->days(), days);
  }
}

TEST(Date, RefusesDaysThatDoNotExistAndMalformedText) {
  for (const char* bad : {"2023-02-29", "2024-13-01", "2024-00-10", "2024-04-31", "2024-01-00",
                          "1900-02-29", "0000-01-01", "2024-1-01", "2024/01/01", "24-01-01",
                          "2024-01-01 ", "", "abcd-ef-gh", "2024-01-0x", "-024-01-01"}) {
    EXPECT_FALSE(Date::parseIso(bad).has_value()) << "'" << bad << "' was accepted";
  }
  EXPECT_FALSE(Date::fromYmd(10000, 1, 1).has_value());
  EXPECT_FALSE(Date::fromYmd(0, 12, 31).has_value());
  EXPECT_FALSE(Date::fromYmd(2023, 2, 29).has_value());
  EXPECT_TRUE(Date::fromYmd(2024, 2, 29).has_value());
}

// --- Timestamp ------------------------------------------------------------------------------

TEST(Timestamp, IsoRoundTripsWithMicrosecondsAndBeforeTheEpoch) {
  struct Case {
    int64_t micros;
    const char* iso;
  };
  for (const auto& c :
       {Case{0, "1970-01-01T00:00:00Z"}, Case{1, "1970-01-01T00:00:00.000001Z"},
        Case{-1, "1969-12-31T23:59:59.999999Z"}, Case{-1000000, "1969-12-31T23:59:59Z"},
        Case{1700000000123456, "2023-11-14T22:13:20.123456Z"},
        Case{-62135596800000000, "0001-01-01T00:00:00Z"},
        Case{253402300799999999, "9999-12-31T23:59:59.999999Z"}}) {
    EXPECT_EQ(Timestamp::fromMicros(c.micros).toIso(), c.iso);
    const auto parsed = Timestamp::parseIso(c.iso);
    ASSERT_TRUE(parsed.has_value()) << c.iso;
    EXPECT_EQ(parsed->micros(), c.micros) << c.iso;
  }
}

TEST(Timestamp, AcceptsShortFractionsAndASpace) {
  EXPECT_EQ(Timestamp::parseIso("1970-01-01T00:00:01.5Z")->micros(), 1500000);
  EXPECT_EQ(Timestamp::parseIso("1970-01-01T00:00:01.000250Z")->micros(), 1000250);
  EXPECT_EQ(Timestamp::parseIso("1970-01-01 00:01:00Z")->micros(), 60000000);
}

TEST(Timestamp, RefusesMalformedText) {
  for (const char* bad : {"2024-01-01T00:00:00", "2024-01-01T24:00:00Z", "2024-01-01T12:60:00Z",
                          "2024-01-01T12:00:60Z", "2023-02-29T00:00:00Z", "2024-01-01T00:00:00.Z",
                          "2024-01-01T00:00:00.1234567Z", "2024-01-01T00:00:00+01:00",
                          "2024-01-01X00:00:00Z", "2024-01-01T00:00:00,5Z", ""}) {
    EXPECT_FALSE(Timestamp::parseIso(bad).has_value()) << "'" << bad << "' was accepted";
  }
}

// --- Money ----------------------------------------------------------------------------------

TEST(Money, FormatsCentimesExactly) {
  EXPECT_EQ(Money::fromCentimes(0).toString(), "0.00");
  EXPECT_EQ(Money::fromCentimes(5).toString(), "0.05");
  EXPECT_EQ(Money::fromCentimes(123450).toString(), "1234.50");
  EXPECT_EQ(Money::fromCentimes(-1).toString(), "-0.01");
  EXPECT_EQ(Money::fromCentimes(-123456).toString(), "-1234.56");
  EXPECT_EQ(Money::fromCentimes(INT64_MAX).toString(), "92233720368547758.07");
  EXPECT_EQ(Money::fromCentimes(INT64_MIN).toString(), "-92233720368547758.08");
}

// --- Value ----------------------------------------------------------------------------------

TEST(Value, AbiRoundTripKeepsTypeAndValue) {
  const std::string text = "تعاونية أركان — Coopérative";
  for (const Value& v :
       {Value(), Value(text), Value(int64_t{INT64_MIN}), Value(int64_t{INT64_MAX}), Value(0.1),
        Value(-0.0), Value(true), Value(false), Value(Date::fromDays(-719162)),
        Value(Timestamp::fromMicros(-1)), Value(Money::fromCentimes(INT64_MIN))}) {
    EXPECT_EQ(Value::fromAbi(v.toAbi()), v);
  }
  const Value t(text);
  const es_value abi = t.toAbi();
  EXPECT_EQ(abi.type, ES_TYPE_TEXT);
  EXPECT_EQ(abi.len, text.size());  // bytes, not characters
  EXPECT_EQ(Value(true).toAbi().i64, 1);
  EXPECT_EQ(Value(std::optional<int>()).toAbi().type, ES_TYPE_NULL);
  EXPECT_EQ(Value(std::optional<int>(7)).toAbi().i64, 7);
}

TEST(Value, IntegerAndBooleanStayDistinct) {
  EXPECT_NE(Value(1), Value(true));
  EXPECT_EQ(Value(1).toAbi().type, ES_TYPE_INTEGER);
  EXPECT_EQ(Value(true).toAbi().type, ES_TYPE_BOOLEAN);
}

// --- DatasetSpec and checks -----------------------------------------------------------------

DatasetSpec goodSpec() {
  return DatasetSpec{"items",
                     1,
                     {{"id", ColumnType::Text, true, false},
                      {"qty", ColumnType::Integer, false, false},
                      {"note", ColumnType::Text, false, true}}};
}

TEST(DatasetSpec, GoodSpecPassesAndIndexesWork) {
  const auto spec = goodSpec();
  EXPECT_EQ(checkDatasetSpec(spec), "");
  EXPECT_EQ(spec.columnIndex("qty"), 1);
  EXPECT_EQ(spec.columnIndex("nope"), -1);
  EXPECT_EQ(spec.keyIndexes(), std::vector<size_t>{0});
}

TEST(DatasetSpec, ErrorsNameTheDatasetAndTheColumn) {
  struct Case {
    std::function<void(DatasetSpec&)> change;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {[](DatasetSpec& s) { s.name = "Items"; }, "dataset name 'Items' must match"},
      {[](DatasetSpec& s) { s.name = ""; }, "dataset name '' must match"},
      {[](DatasetSpec& s) { s.name = std::string(64, 'a'); }, "must match [a-z][a-z0-9_]{0,62}"},
      {[](DatasetSpec& s) { s.version = 0; }, "dataset 'items': version must be 1 or more"},
      {[](DatasetSpec& s) { s.columns.clear(); }, "dataset 'items': must have 1 to 256 columns"},
      {[](DatasetSpec& s) {
         s.columns.resize(257, {"x", ColumnType::Text, false, true});
       },
       "must have 1 to 256 columns, has 257"},
      {[](DatasetSpec& s) { s.columns[1].name = "_qty"; }, "column name '_qty' must match"},
      {[](DatasetSpec& s) { s.columns[1].name = "q-ty"; }, "column name 'q-ty' must match"},
      {[](DatasetSpec& s) { s.columns[2].name = "qty"; }, "column 'qty' is declared twice"},
      {[](DatasetSpec& s) { s.columns[0].nullable = true; }, "key column 'id' cannot be nullable"},
      {[](DatasetSpec& s) { s.columns[1].type = static_cast<ColumnType>(99); },
       "column 'qty' has an unknown type"},
      {[](DatasetSpec& s) { s.columns[0].key = false; }, "declares no key column"},
  };
  for (const auto& c : cases) {
    auto spec = goodSpec();
    c.change(spec);
    const auto reason = checkDatasetSpec(spec);
    EXPECT_NE(reason.find(c.expect), std::string::npos)
        << "reason '" << reason << "' lacks '" << c.expect << "'";
  }
}

TEST(CheckValue, AcceptsEveryTypeItsColumnTakes) {
  const Column real{"w", ColumnType::Real, false, true};
  EXPECT_EQ(checkValue(real, Value(1.5).toAbi()), "");
  EXPECT_EQ(checkValue(real, Value(3).toAbi()), "") << "an integer is accepted for a real";
  EXPECT_EQ(checkValue(real, Value().toAbi()), "") << "nullable column";
  EXPECT_EQ(checkValue({"b", ColumnType::Boolean}, Value(true).toAbi()), "");
  EXPECT_EQ(checkValue({"d", ColumnType::Date}, Value(Date::fromDays(2932896)).toAbi()), "");
  EXPECT_EQ(checkValue({"m", ColumnType::Money}, Value(Money::fromCentimes(INT64_MIN)).toAbi()),
            "");
  EXPECT_EQ(checkValue({"t", ColumnType::Text}, Value("").toAbi()), "");
}

TEST(CheckValue, MismatchMessagesNameColumnAndBothTypes) {
  EXPECT_EQ(checkValue({"qty", ColumnType::Integer}, Value("12").toAbi()),
            "column 'qty' expects integer, got text");
  EXPECT_EQ(checkValue({"price", ColumnType::Money}, Value(12.5).toAbi()),
            "column 'price' expects money, got real");
  EXPECT_EQ(checkValue({"ok", ColumnType::Boolean}, Value(1).toAbi()),
            "column 'ok' expects boolean, got integer");
  EXPECT_EQ(checkValue({"n", ColumnType::Integer}, Value(2.0).toAbi()),
            "column 'n' expects integer, got real");
  EXPECT_EQ(checkValue({"day", ColumnType::Date}, Value(Timestamp::fromMicros(0)).toAbi()),
            "column 'day' expects date, got timestamp");
  EXPECT_EQ(checkValue({"id", ColumnType::Text}, Value().toAbi()),
            "column 'id' may not be empty (null)");
  es_value odd{};
  odd.type = 42;
  EXPECT_EQ(checkValue({"x", ColumnType::Text}, odd),
            "column 'x' expects text, got an unknown type");
}

TEST(CheckValue, RefusesOutOfDomainValues) {
  const Column real{"w", ColumnType::Real};
  EXPECT_NE(checkValue(real, Value(std::numeric_limits<double>::infinity()).toAbi())
                .find("column 'w' holds a non-finite real"),
            std::string::npos);
  EXPECT_NE(checkValue(real, Value(std::nan("")).toAbi()).find("non-finite"), std::string::npos);
  es_value b = Value(true).toAbi();
  b.i64 = 2;
  EXPECT_NE(checkValue({"b", ColumnType::Boolean}, b).find("neither 0 nor 1"), std::string::npos);
  EXPECT_NE(checkValue({"d", ColumnType::Date}, Value(Date::fromDays(2932897)).toAbi())
                .find("column 'd' holds a date outside years 0001-9999"),
            std::string::npos);
  EXPECT_NE(
      checkValue({"d", ColumnType::Date}, Value(Date::fromDays(-719163)).toAbi()).find("0001"),
      std::string::npos);
  // Timestamps are stored as ISO text, so only years 0001-9999 can be written and read back.
  const Column ts{"at", ColumnType::Timestamp};
  EXPECT_EQ(checkValue(ts, Value(Timestamp::fromMicros(-62135596800000000)).toAbi()), "");
  EXPECT_EQ(checkValue(ts, Value(Timestamp::fromMicros(253402300799999999)).toAbi()), "");
  EXPECT_NE(checkValue(ts, Value(Timestamp::fromMicros(-62135596800000001)).toAbi())
                .find("column 'at' holds a timestamp outside years 0001-9999"),
            std::string::npos);
  EXPECT_NE(checkValue(ts, Value(Timestamp::fromMicros(INT64_MAX)).toAbi()).find("outside"),
            std::string::npos);
  EXPECT_NE(checkValue(ts, Value(Timestamp::fromMicros(INT64_MIN)).toAbi()).find("outside"),
            std::string::npos);
  es_value t{};
  t.type = ES_TYPE_TEXT;
  t.len = 3;
  EXPECT_NE(checkValue({"s", ColumnType::Text}, t).find("null text pointer"), std::string::npos);
}

TEST(TypeNames, RoundTrip) {
  for (auto t : {ColumnType::Text, ColumnType::Integer, ColumnType::Real, ColumnType::Boolean,
                 ColumnType::Date, ColumnType::Timestamp, ColumnType::Money}) {
    EXPECT_EQ(parseTypeName(typeName(t)), t);
  }
  EXPECT_FALSE(parseTypeName("TEXT").has_value());
  EXPECT_FALSE(parseTypeName("decimal").has_value());
}

// --- Status / Result ------------------------------------------------------------------------

TEST(Status, ContextPrefixesOnlyErrors) {
  EXPECT_TRUE(Status::ok().withContext("x").isOk());
  EXPECT_EQ(Status::ok().withContext("x").message(), "");
  const auto st = Status::io("disk full").withContext("store");
  EXPECT_EQ(st.code(), Code::Io);
  EXPECT_EQ(st.message(), "store: disk full");
}

TEST(Result, HoldsAValueOrAFailure) {
  Result<int> good(5);
  EXPECT_TRUE(good.isOk());
  EXPECT_EQ(*good, 5);
  Result<int> bad(Status::config("nope"));
  EXPECT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().code(), Code::Config);
  Result<int> misuse(Status::ok());  // an OK status without a value is a bug, not a value
  EXPECT_FALSE(misuse.isOk());
  EXPECT_EQ(misuse.status().code(), Code::Internal);
}

}  // namespace
}  // namespace exportsync
