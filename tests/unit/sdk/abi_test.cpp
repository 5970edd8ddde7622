// The C ABI as C and C++ see it: abi_c_test.c (compiled as C) reports sizes, offsets and
// constants of plugin_abi.h; this test computes the same in C++ and compares them one by one.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "exportsync/dataset.hpp"
#include "exportsync/plugin_abi.h"
#include "exportsync/status.hpp"

extern "C" {
size_t es_c_layout_count(void);
const char* es_c_layout_what(size_t i);
size_t es_c_layout_value(size_t i);
uint32_t es_c_entry_symbol_matches(const char* name);
int32_t es_c_value_roundtrip(int64_t i64, double f64, int64_t* i64_out, double* f64_out);
}

namespace {

#define ES_LAYOUT(expr) \
  { #expr, static_cast < size_t>(expr) }

const std::map<std::string, size_t>& cxxLayout() {
  static const std::map<std::string, size_t> layout = {
      ES_LAYOUT(sizeof(es_value)),
      ES_LAYOUT(offsetof(es_value, type)),
      ES_LAYOUT(offsetof(es_value, i64)),
      ES_LAYOUT(offsetof(es_value, f64)),
      ES_LAYOUT(offsetof(es_value, str)),
      ES_LAYOUT(offsetof(es_value, len)),
      ES_LAYOUT(sizeof(es_column_decl)),
      ES_LAYOUT(offsetof(es_column_decl, type)),
      ES_LAYOUT(offsetof(es_column_decl, flags)),
      ES_LAYOUT(sizeof(es_dataset_decl)),
      ES_LAYOUT(offsetof(es_dataset_decl, version)),
      ES_LAYOUT(offsetof(es_dataset_decl, name)),
      ES_LAYOUT(offsetof(es_dataset_decl, columns)),
      ES_LAYOUT(offsetof(es_dataset_decl, column_count)),
      ES_LAYOUT(sizeof(es_host_api)),
      ES_LAYOUT(offsetof(es_host_api, set_error)),
      ES_LAYOUT(offsetof(es_host_api, config_get)),
      ES_LAYOUT(offsetof(es_host_api, declare_dataset)),
      ES_LAYOUT(offsetof(es_host_api, sink_upsert)),
      ES_LAYOUT(offsetof(es_host_api, reject)),
      ES_LAYOUT(offsetof(es_host_api, state_get)),
      ES_LAYOUT(offsetof(es_host_api, cancelled)),
      ES_LAYOUT(offsetof(es_host_api, rename_after_commit)),
      ES_LAYOUT(sizeof(es_plugin_v1)),
      ES_LAYOUT(offsetof(es_plugin_v1, name)),
      ES_LAYOUT(offsetof(es_plugin_v1, description)),
      ES_LAYOUT(offsetof(es_plugin_v1, create)),
      ES_LAYOUT(offsetof(es_plugin_v1, collect)),
      ES_LAYOUT(offsetof(es_plugin_v1, destroy)),
      ES_LAYOUT(ES_ABI_MAJOR),
      ES_LAYOUT(ES_ABI_MINOR),
      ES_LAYOUT(ES_TYPE_MONEY),
      ES_LAYOUT(ES_ERR_INTERNAL),
  };
  return layout;
}

TEST(AbiLayout, CAndCxxAgreeOnEverySizeOffsetAndConstant) {
  const auto& cxx = cxxLayout();
  ASSERT_EQ(es_c_layout_count(), cxx.size()) << "the C and C++ tables list different facts";
  for (size_t i = 0; i < es_c_layout_count(); ++i) {
    const std::string what = es_c_layout_what(i);
    auto it = cxx.find(what);
    ASSERT_NE(it, cxx.end()) << "C reports '" << what << "', which C++ does not check";
    EXPECT_EQ(es_c_layout_value(i), it->second) << what;
  }
}

TEST(AbiLayout, LayoutIsTheDocumentedLp64One) {
  // These numbers are the ABI: a change here breaks every plugin built before it.
  static_assert(sizeof(void*) == 8, "the ABI is specified for LP64 targets");
  EXPECT_EQ(sizeof(es_value), 40u);
  EXPECT_EQ(offsetof(es_value, i64), 8u);
  EXPECT_EQ(offsetof(es_value, f64), 16u);
  EXPECT_EQ(offsetof(es_value, str), 24u);
  EXPECT_EQ(sizeof(es_column_decl), 16u);
  EXPECT_EQ(sizeof(es_dataset_decl), 32u);
  EXPECT_EQ(offsetof(es_plugin_v1, name), 16u);
  EXPECT_EQ(sizeof(es_plugin_v1), 16u + 3 * 8u + 5 * 8u);
  EXPECT_EQ(sizeof(es_host_api), 16u + 15 * 8u);
}

TEST(AbiLayout, EntrySymbolNameIsTheSameInC) {
  EXPECT_EQ(es_c_entry_symbol_matches("exportsync_plugin_entry"), 1u);
  EXPECT_EQ(es_c_entry_symbol_matches("exportsync_plugin_entr"), 0u);
}

TEST(AbiLayout, ValueFilledInCReadsTheSame) {
  int64_t i = 0;
  double f = 0;
  EXPECT_EQ(es_c_value_roundtrip(INT64_MIN, -1.5e300, &i, &f), ES_TYPE_REAL);
  EXPECT_EQ(i, INT64_MIN);
  EXPECT_EQ(f, -1.5e300);
}

TEST(AbiLayout, CxxEnumsMatchTheCConstants) {
  using exportsync::Code;
  using exportsync::ColumnType;
  EXPECT_EQ(static_cast<int32_t>(ColumnType::Text), ES_TYPE_TEXT);
  EXPECT_EQ(static_cast<int32_t>(ColumnType::Integer), ES_TYPE_INTEGER);
  EXPECT_EQ(static_cast<int32_t>(ColumnType::Real), ES_TYPE_REAL);
  EXPECT_EQ(static_cast<int32_t>(ColumnType::Boolean), ES_TYPE_BOOLEAN);
  EXPECT_EQ(static_cast<int32_t>(ColumnType::Date), ES_TYPE_DATE);
  EXPECT_EQ(static_cast<int32_t>(ColumnType::Timestamp), ES_TYPE_TIMESTAMP);
  EXPECT_EQ(static_cast<int32_t>(ColumnType::Money), ES_TYPE_MONEY);
  EXPECT_EQ(static_cast<int32_t>(Code::Ok), ES_OK);
  EXPECT_EQ(static_cast<int32_t>(Code::Invalid), ES_ERR_INVALID);
  EXPECT_EQ(static_cast<int32_t>(Code::Config), ES_ERR_CONFIG);
  EXPECT_EQ(static_cast<int32_t>(Code::Io), ES_ERR_IO);
  EXPECT_EQ(static_cast<int32_t>(Code::Cancelled), ES_ERR_CANCELLED);
  EXPECT_EQ(static_cast<int32_t>(Code::Schema), ES_ERR_SCHEMA);
  EXPECT_EQ(static_cast<int32_t>(Code::Internal), ES_ERR_INTERNAL);
}

}  // namespace
