// The core datasets exporters and export_flows (core_datasets.hpp): declarations, value lists,
// exporter identifiers and typed row builders, checked with the SDK's own dataset checks.
#include "exportsync/core_datasets.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "exportsync/dataset.hpp"
#include "exportsync/plugin.hpp"

namespace exportsync::core {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

template <typename T>
std::string errorOf(const Result<T>& r) {
  EXPECT_FALSE(r.isOk());
  return r.isOk() ? "(accepted)" : r.status().message();
}

// What the agent checks before storing a row: each field names a declared column once, each
// value fits its column (checkValue), and every required column has a value. Empty when valid.
std::string checkRow(const DatasetSpec& spec, const Row& row) {
  std::vector<bool> seen(spec.columns.size(), false);
  for (const auto& [name, value] : row.fields()) {
    const int i = spec.columnIndex(name);
    if (i < 0) {
      return "no column '" + name + "'";
    }
    const auto idx = static_cast<size_t>(i);
    if (seen[idx]) {
      return "column '" + name + "' set twice";
    }
    seen[idx] = true;
    const es_value v = value.toAbi();
    if (auto err = checkValue(spec.columns[idx], v); !err.empty()) {
      return err;
    }
  }
  for (size_t i = 0; i < spec.columns.size(); ++i) {
    if (!seen[i] && !spec.columns[i].nullable) {
      return "required column '" + spec.columns[i].name + "' missing";
    }
  }
  return {};
}

const Value* field(const Row& row, const std::string& name) {
  for (const auto& [n, v] : row.fields()) {
    if (n == name) {
      return &v;
    }
  }
  return nullptr;
}

struct ColumnWant {
  std::string name;
  ColumnType type;
  bool key;
  bool nullable;
};

void expectColumns(const DatasetSpec& spec, const std::vector<ColumnWant>& want) {
  ASSERT_EQ(spec.columns.size(), want.size()) << spec.name;
  for (size_t i = 0; i < want.size(); ++i) {
    const auto& c = spec.columns[i];
    EXPECT_EQ(c.name, want[i].name) << i;
    EXPECT_EQ(c.type, want[i].type) << c.name;
    EXPECT_EQ(c.key, want[i].key) << c.name;
    EXPECT_EQ(c.nullable, want[i].nullable) << c.name;
  }
}

// --- Declarations ---------------------------------------------------------------------------

TEST(CoreDatasetsDeclare, ExportersColumnsAndKey) {
  Schema schema;
  declareExporters(schema);
  ASSERT_EQ(schema.datasets().size(), 1u);
  const DatasetSpec& d = schema.datasets()[0];
  EXPECT_EQ(d.name, "exporters");
  EXPECT_EQ(d.version, kExportersVersion);
  EXPECT_EQ(checkDatasetSpec(d), "");
  using T = ColumnType;
  expectColumns(d, {{"exporter_id", T::Text, true, false},
                    {"id_kind", T::Text, false, false},
                    {"name", T::Text, false, false},
                    {"name_ar", T::Text, false, true},
                    {"legal_form", T::Text, false, false},
                    {"region", T::Text, false, false},
                    {"city", T::Text, false, true},
                    {"sector", T::Text, false, false},
                    {"size_class", T::Text, false, true},
                    {"employees", T::Integer, false, true},
                    {"first_export_year", T::Integer, false, true}});
  EXPECT_EQ(d.keyIndexes(), (std::vector<size_t>{0}));
}

TEST(CoreDatasetsDeclare, ExportFlowsColumnsAndKey) {
  Schema schema;
  declareExportFlows(schema);
  const DatasetSpec& d = schema.datasets().at(0);
  EXPECT_EQ(d.name, "export_flows");
  EXPECT_EQ(d.version, kExportFlowsVersion);
  EXPECT_EQ(checkDatasetSpec(d), "");
  using T = ColumnType;
  expectColumns(d, {{"exporter_id", T::Text, true, false},
                    {"hs_code", T::Text, true, false},
                    {"destination", T::Text, true, false},
                    {"period", T::Text, true, false},
                    {"value_mad", T::Money, false, false},
                    {"quantity", T::Real, false, true},
                    {"quantity_unit", T::Text, false, true}});
  EXPECT_EQ(d.keyIndexes(), (std::vector<size_t>{0, 1, 2, 3}));
}

TEST(CoreDatasetsDeclare, BothAtOnceAndAsValues) {
  Schema schema;
  declareCoreDatasets(schema);
  ASSERT_EQ(schema.datasets().size(), 2u);
  ASSERT_NE(schema.find(kExporters), nullptr);
  ASSERT_NE(schema.find(kExportFlows), nullptr);
  EXPECT_EQ(exportersSpec().columns.size(), schema.find(kExporters)->columns.size());
  EXPECT_EQ(exportFlowsSpec().columns.size(), schema.find(kExportFlows)->columns.size());
  for (const auto& d : schema.datasets()) {
    for (const auto& c : d.columns) {
      EXPECT_TRUE(isValidIdentifier(c.name)) << c.name;
    }
  }
}

// --- Value lists ----------------------------------------------------------------------------

template <typename E, size_t N, typename Parse>
void expectList(const std::array<ValueInfo<E>, N>& table, Parse parse) {
  std::set<std::string_view> codes;
  for (const auto& v : table) {
    EXPECT_TRUE(isValidIdentifier(v.code)) << v.code;
    EXPECT_TRUE(codes.insert(v.code).second) << "duplicate " << v.code;
    EXPECT_EQ(toCode(v.value), v.code);
    EXPECT_FALSE(v.label_fr.empty()) << v.code;
    const auto parsed = parse(v.code);
    ASSERT_TRUE(parsed.isOk()) << v.code;
    EXPECT_EQ(*parsed, v.value);
    const auto upper = parse(validate::internal::upper(v.code));
    ASSERT_TRUE(upper.isOk()) << v.code;
    EXPECT_EQ(*upper, v.value);
  }
}

TEST(CoreDatasetsValueLists, CodesAreUniqueSnakeCaseAndRoundTrip) {
  expectList(kIdKinds, parseIdKind);
  expectList(kLegalForms, parseLegalForm);
  expectList(kSectors, parseSector);
  expectList(kSizeClasses, parseSizeClass);
  expectList(kQuantityUnits, parseQuantityUnit);
}

TEST(CoreDatasetsValueLists, AliasesAndRefusals) {
  EXPECT_EQ(*parseLegalForm("SARL AU"), LegalForm::SarlAu);
  EXPECT_EQ(*parseLegalForm("S.A.R.L."), LegalForm::Sarl);
  EXPECT_EQ(*parseLegalForm("Coopérative"), LegalForm::Cooperative);
  EXPECT_EQ(*parseLegalForm("auto-entrepreneur"), LegalForm::AutoEntrepreneur);
  EXPECT_EQ(*parseSector("Textile_Leather"), Sector::TextileLeather);
  EXPECT_EQ(*parseSector("artisanat"), Sector::Handicrafts);
  EXPECT_EQ(*parseSizeClass("TPE"), SizeClass::Small);
  EXPECT_EQ(*parseQuantityUnit("KGM"), QuantityUnit::Kilogram);
  EXPECT_EQ(*parseQuantityUnit("pièce"), QuantityUnit::Unit);
  EXPECT_EQ(*parseQuantityUnit("m²"), QuantityUnit::SquareMetre);
  EXPECT_THAT(
      errorOf(parseLegalForm("SARLX")),
      AllOf(HasSubstr("legal form 'SARLX' is not one of: sarl, sarl_au"), HasSubstr("other")));
  EXPECT_THAT(errorOf(parseQuantityUnit("t")), HasSubstr("kg, l, m2, m3, unit, pair"));
  EXPECT_FALSE(parseSector("").isOk());
  EXPECT_FALSE(parseSector("  ").isOk());
}

TEST(CoreDatasetsValueLists, SizeClassThresholds) {
  const auto mdh = [](int64_t n) { return Money::fromCentimes(n * 100'000'000); };
  EXPECT_EQ(sizeClassFromTurnover(Money::fromCentimes(0)), SizeClass::Micro);
  EXPECT_EQ(sizeClassFromTurnover(mdh(3)), SizeClass::Micro);
  EXPECT_EQ(sizeClassFromTurnover(Money::fromCentimes(3 * 100'000'000 + 1)), SizeClass::Small);
  EXPECT_EQ(sizeClassFromTurnover(mdh(10)), SizeClass::Small);
  EXPECT_EQ(sizeClassFromTurnover(mdh(11)), SizeClass::Medium);
  EXPECT_EQ(sizeClassFromTurnover(mdh(175)), SizeClass::Medium);
  EXPECT_EQ(sizeClassFromTurnover(mdh(176)), SizeClass::Large);
  EXPECT_EQ(sizeClassFromEmployees(9), SizeClass::Micro);
  EXPECT_EQ(sizeClassFromEmployees(10), SizeClass::Small);
  EXPECT_EQ(sizeClassFromEmployees(50), SizeClass::Medium);
  EXPECT_EQ(sizeClassFromEmployees(200), SizeClass::Large);
}

// --- Exporter identifiers -------------------------------------------------------------------

TEST(CoreDatasetsExporterId, BuildsCanonicalIdsPerKind) {
  EXPECT_EQ(*exporterId(IdKind::Ice, " 001525148 000067 "), "001525148000067");
  EXPECT_EQ(*exporterId(IdKind::Cooperative, " 2019/1234 "), "cooperative:2019/1234");
  EXPECT_EQ(*exporterId(IdKind::Artisan, "rna-45 871"), "artisan:RNA-45871");
  EXPECT_EQ(*exporterId(IdKind::Office, "000123", "ma-9"), "office:MA-09:000123");
  EXPECT_THAT(errorOf(exporterId(IdKind::Ice, "00123")), HasSubstr("15 digits"));
  EXPECT_THAT(errorOf(exporterId(IdKind::Office, "12")), HasSubstr("office's region"));
  EXPECT_THAT(errorOf(exporterId(IdKind::Cooperative, "")), HasSubstr("empty"));
  EXPECT_THAT(errorOf(exporterId(IdKind::Cooperative, "12:34")), HasSubstr("only letters"));
  EXPECT_THAT(errorOf(exporterId(IdKind::Artisan, std::string(41, '1'))), HasSubstr("at most 40"));
}

TEST(CoreDatasetsExporterId, KindOfCanonicalIdsOnly) {
  EXPECT_EQ(*exporterIdKind("001525148000067"), IdKind::Ice);
  EXPECT_EQ(*exporterIdKind("cooperative:2019/1234"), IdKind::Cooperative);
  EXPECT_EQ(*exporterIdKind("artisan:RNA-45871"), IdKind::Artisan);
  EXPECT_EQ(*exporterIdKind("office:MA-09:000123"), IdKind::Office);
  for (const char* bad : {"", "001 525148000067", "00123", "coop:12", "COOPERATIVE:12",
                          "cooperative:rna", "cooperative:", "ice:001525148000067",
                          "office:MA-9:12", "office:12", "office:MA-13:1", "unknown:1"}) {
    EXPECT_FALSE(exporterIdKind(bad).isOk()) << "'" << bad << "' was accepted";
  }
  EXPECT_THAT(errorOf(exporterIdKind("coop:12")), HasSubstr("core::exporterId()"));
}

// --- Typed rows -----------------------------------------------------------------------------

ExporterRow goodExporter() {
  ExporterRow e;
  e.exporter_id = *exporterId(IdKind::Cooperative, "2019/1234");
  e.name = "  Coopérative Tighanimine ";
  e.name_ar = "تعاونية تيغانيمين";
  e.legal_form = LegalForm::Cooperative;
  e.region = "ma-9";
  e.city = "Agadir";
  e.sector = Sector::Cosmetics;
  e.size_class = SizeClass::Micro;
  e.employees = 25;
  e.first_export_year = 2016;
  return e;
}

ExportFlowRow goodFlow() {
  ExportFlowRow f;
  f.exporter_id = "001525148000067";
  f.hs_code = "1515.90";
  f.destination = "fr";
  f.period = *validate::period("03/2024");
  f.value_mad = *validate::nonNegativeAmount("1 234 500,00 DH");
  f.quantity = *validate::quantity("2 500,5");
  f.quantity_unit = QuantityUnit::Litre;
  return f;
}

TEST(CoreDatasetsExporterRow, FullRowPassesTheSdkRowChecksAndIsNormalised) {
  const auto row = goodExporter().toRow();
  ASSERT_TRUE(row.isOk()) << row.status().message();
  EXPECT_EQ(checkRow(exportersSpec(), *row), "");
  EXPECT_EQ(*field(*row, "exporter_id"), Value("cooperative:2019/1234"));
  EXPECT_EQ(*field(*row, "id_kind"), Value("cooperative"));
  EXPECT_EQ(*field(*row, "name"), Value("Coopérative Tighanimine"));
  EXPECT_EQ(*field(*row, "name_ar"), Value("تعاونية تيغانيمين"));
  EXPECT_EQ(*field(*row, "legal_form"), Value("cooperative"));
  EXPECT_EQ(*field(*row, "region"), Value("MA-09"));
  EXPECT_EQ(*field(*row, "city"), Value("Agadir"));
  EXPECT_EQ(*field(*row, "sector"), Value("cosmetics"));
  EXPECT_EQ(*field(*row, "size_class"), Value("micro"));
  EXPECT_EQ(*field(*row, "employees"), Value(25));
  EXPECT_EQ(*field(*row, "first_export_year"), Value(2016));
  // Fields come in declared order (the Sink's fast path).
  const auto spec = exportersSpec();
  ASSERT_EQ(row->fields().size(), spec.columns.size());
  for (size_t i = 0; i < spec.columns.size(); ++i) {
    EXPECT_EQ(row->fields()[i].first, spec.columns[i].name);
  }
}

TEST(CoreDatasetsExporterRow, MinimalRowLeavesOptionalColumnsNull) {
  ExporterRow e;
  e.exporter_id = "001525148000067";
  e.name = "Atlas Auto Parts";
  e.legal_form = LegalForm::Sa;
  e.region = "MA-01";
  e.sector = Sector::Automotive;
  e.city = "  ";  // blank → null
  const auto row = e.toRow();
  ASSERT_TRUE(row.isOk()) << row.status().message();
  EXPECT_EQ(checkRow(exportersSpec(), *row), "");
  EXPECT_EQ(*field(*row, "id_kind"), Value("ice"));
  for (const char* c : {"name_ar", "city", "size_class", "employees", "first_export_year"}) {
    EXPECT_TRUE(field(*row, c)->isNull()) << c;
  }
}

TEST(CoreDatasetsExporterRow, RefusalsNameTheColumn) {
  auto e = goodExporter();
  e.exporter_id = "coop:1";
  EXPECT_THAT(errorOf(e.toRow()), HasSubstr("exporters column 'exporter_id'"));
  e = goodExporter();
  e.name = " ";
  EXPECT_EQ(errorOf(e.toRow()), "exporters column 'name': text is empty; a value is required");
  e = goodExporter();
  e.name = std::string(201, 'x');
  EXPECT_THAT(errorOf(e.toRow()), HasSubstr("at most 200"));
  e = goodExporter();
  e.name_ar = "Cooperative";
  EXPECT_THAT(errorOf(e.toRow()),
              AllOf(HasSubstr("column 'name_ar'"), HasSubstr("no Arabic letters")));
  e = goodExporter();
  e.legal_form.reset();
  EXPECT_EQ(errorOf(e.toRow()), "exporters column 'legal_form' is required but not set");
  e = goodExporter();
  e.region = "MA-13";
  EXPECT_THAT(errorOf(e.toRow()), AllOf(HasSubstr("column 'region'"), HasSubstr("MA-12")));
  e = goodExporter();
  e.sector.reset();
  EXPECT_THAT(errorOf(e.toRow()), HasSubstr("'sector' is required"));
  e = goodExporter();
  e.employees = -1;
  EXPECT_THAT(errorOf(e.toRow()), HasSubstr("column 'employees'"));
  e = goodExporter();
  e.first_export_year = 1850;
  EXPECT_THAT(errorOf(e.toRow()), HasSubstr("column 'first_export_year'"));
  e = goodExporter();
  e.city = "Fès\nMeknès";
  EXPECT_THAT(errorOf(e.toRow()), HasSubstr("column 'city'"));
}

TEST(CoreDatasetsExporterRow, KeyRow) {
  const auto key = goodExporter().keyRow();
  ASSERT_TRUE(key.isOk());
  ASSERT_EQ(key->fields().size(), 1u);
  EXPECT_EQ(*field(*key, "exporter_id"), Value("cooperative:2019/1234"));
}

TEST(CoreDatasetsExportFlowRow, FullRowPassesTheSdkRowChecksAndIsNormalised) {
  const auto row = goodFlow().toRow();
  ASSERT_TRUE(row.isOk()) << row.status().message();
  EXPECT_EQ(checkRow(exportFlowsSpec(), *row), "");
  EXPECT_EQ(*field(*row, "exporter_id"), Value("001525148000067"));
  EXPECT_EQ(*field(*row, "hs_code"), Value("151590"));
  EXPECT_EQ(*field(*row, "destination"), Value("FR"));
  EXPECT_EQ(*field(*row, "period"), Value("2024-03"));
  EXPECT_EQ(*field(*row, "value_mad"), Value(Money::fromCentimes(123450000)));
  EXPECT_EQ(*field(*row, "quantity"), Value(2500.5));
  EXPECT_EQ(*field(*row, "quantity_unit"), Value("l"));
  const auto spec = exportFlowsSpec();
  ASSERT_EQ(row->fields().size(), spec.columns.size());
  for (size_t i = 0; i < spec.columns.size(); ++i) {
    EXPECT_EQ(row->fields()[i].first, spec.columns[i].name);
  }
}

TEST(CoreDatasetsExportFlowRow, WithoutQuantityAndZeroValue) {
  auto f = goodFlow();
  f.quantity.reset();
  f.quantity_unit.reset();
  f.value_mad = Money::fromCentimes(0);
  const auto row = f.toRow();
  ASSERT_TRUE(row.isOk()) << row.status().message();
  EXPECT_EQ(checkRow(exportFlowsSpec(), *row), "");
  EXPECT_TRUE(field(*row, "quantity")->isNull());
  EXPECT_TRUE(field(*row, "quantity_unit")->isNull());
}

TEST(CoreDatasetsExportFlowRow, RefusalsNameTheColumn) {
  auto f = goodFlow();
  f.exporter_id = "00123";
  EXPECT_THAT(errorOf(f.toRow()),
              AllOf(HasSubstr("column 'exporter_id'"), HasSubstr("(5 digits)")));
  f = goodFlow();
  f.hs_code = "7701.00";
  EXPECT_THAT(errorOf(f.toRow()), AllOf(HasSubstr("column 'hs_code'"), HasSubstr("chapter 77")));
  f = goodFlow();
  f.destination = "uk";
  EXPECT_THAT(errorOf(f.toRow()), AllOf(HasSubstr("column 'destination'"), HasSubstr("use GB")));
  f = goodFlow();
  f.destination = "MA";
  EXPECT_THAT(errorOf(f.toRow()), HasSubstr("Morocco itself"));
  f = goodFlow();
  f.period = validate::Period{};
  EXPECT_THAT(errorOf(f.toRow()), HasSubstr("column 'period'"));
  f = goodFlow();
  f.value_mad.reset();
  EXPECT_EQ(errorOf(f.toRow()), "export_flows column 'value_mad' is required but not set");
  f = goodFlow();
  f.value_mad = Money::fromCentimes(-1);
  EXPECT_THAT(errorOf(f.toRow()), AllOf(HasSubstr("-0.01 MAD"), HasSubstr("negative")));
  f = goodFlow();
  f.quantity_unit.reset();
  EXPECT_THAT(errorOf(f.toRow()), HasSubstr("set both or neither"));
  f = goodFlow();
  f.quantity = -1.0;
  EXPECT_THAT(errorOf(f.toRow()), HasSubstr("column 'quantity'"));
}

TEST(CoreDatasetsExportFlowRow, KeyRowHasTheFourKeyColumnsNormalised) {
  auto f = goodFlow();
  f.value_mad.reset();  // not needed for the key
  const auto key = f.keyRow();
  ASSERT_TRUE(key.isOk()) << key.status().message();
  ASSERT_EQ(key->fields().size(), 4u);
  EXPECT_EQ(*field(*key, "hs_code"), Value("151590"));
  EXPECT_EQ(*field(*key, "destination"), Value("FR"));
  EXPECT_EQ(*field(*key, "period"), Value("2024-03"));
}

}  // namespace
}  // namespace exportsync::core
