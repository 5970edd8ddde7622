// XLSX reader: workbooks built in the test with Poco::Zip (files_test_util.hpp).
#include "exportsync/files/xlsx.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "files_test_util.hpp"

namespace exportsync::files {
namespace {

using testing::XlsxBuilder;
using testing::zipParts;

std::vector<Record> readSheet(const std::string& bytes, std::unique_ptr<Table>* keep = nullptr,
                              const TableOptions& options = {}) {
  auto table = openXlsx(bytes, "exportateurs.xlsx", options);
  EXPECT_TRUE(table) << table.status().message();
  if (!table) {
    return {};
  }
  auto records = readAll(**table);
  EXPECT_TRUE(records) << records.status().message();
  if (keep != nullptr) {
    *keep = std::move(*table);
  }
  return records ? std::move(*records) : std::vector<Record>{};
}

std::string errorOf(const std::string& bytes, const TableOptions& options = {}) {
  auto table = openXlsx(bytes, "exportateurs.xlsx", options);
  return table ? "" : table.status().message();
}

TEST(XlsxTest, SharedInlineNumberBooleanAndErrorCells) {
  const std::string book =
      XlsxBuilder()
          .sharedStrings({"<t>ICE</t>", "<t>Raison sociale</t>", "<t>Ville</t>", "<t>Montant</t>",
                          // rich text: runs joined, the phonetic hint dropped
                          "<r><rPr><b/></rPr><t>Coopérative </t></r><r><t xml:space=\"preserve\">"
                          "Argane</t></r><rPh sb=\"0\" eb=\"1\"><t>ignored</t></rPh>",
                          "<t>Agadir</t>", "<t>Actif</t>",
                          // Excel's escapes: _x000D_ for CR, _x005F_ for a literal underscore
                          "<t>Ligne 1_x000D_\nLigne 2 _x005F_x0041_</t>"})
          .sheet("Feuil1",
                 "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"B1\" t=\"s\"><v>1</v></c>"
                 "<c r=\"C1\" t=\"s\"><v>2</v></c><c r=\"D1\" t=\"s\"><v>3</v></c>"
                 "<c r=\"E1\" t=\"s\"><v>6</v></c></row>"
                 "<row r=\"2\"><c r=\"A2\"><v>1234567000089</v></c><c r=\"B2\" t=\"s\"><v>4</v></c>"
                 "<c r=\"C2\" t=\"s\"><v>5</v></c><c r=\"D2\"><v>1234.4999999999998</v></c>"
                 "<c r=\"E2\" t=\"b\"><v>1</v></c></row>"
                 "<row r=\"3\"><c r=\"A3\" t=\"inlineStr\"><is><t>001234567000090</t></is></c>"
                 "<c r=\"B3\" t=\"inlineStr\"><is><r><t>Sté </t></r><r><t>الأطلس</t></r></is></c>"
                 "<c r=\"C3\" t=\"str\"><f>UPPER(\"fès\")</f><v>FÈS</v></c>"
                 "<c r=\"D3\"><f>0.1+0.2</f><v>0.30000000000000004</v></c>"
                 "<c r=\"E3\" t=\"b\"><v>0</v></c></row>"
                 "<row r=\"4\"><c r=\"A4\" t=\"e\"><v>#N/A</v></c><c r=\"B4\"><v>-1E-3</v></c>"
                 "<c r=\"C4\"><v>1.5E+20</v></c><c r=\"D4\"><v>42</v></c>"
                 "<c r=\"E4\" t=\"s\"><v>7</v></c></row>")
          .build();
  std::unique_ptr<Table> table;
  const auto records = readSheet(book, &table);
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->header().names(),
            (std::vector<std::string>{"ICE", "Raison sociale", "Ville", "Montant", "Actif"}));
  ASSERT_EQ(records.size(), 3U);
  EXPECT_EQ(records[0].line, 2U);
  EXPECT_EQ(records[0].fields, (std::vector<std::string>{"1234567000089", "Coopérative Argane",
                                                         "Agadir", "1234.5", "TRUE"}));
  EXPECT_EQ(records[1].fields,
            (std::vector<std::string>{"001234567000090", "Sté الأطلس", "FÈS", "0.3", "FALSE"}));
  EXPECT_EQ(records[2].fields, (std::vector<std::string>{"#N/A", "-0.001", "150000000000000000000",
                                                         "42", "Ligne 1\r\nLigne 2 _x0041_"}));
}

TEST(XlsxTest, DatesFromBuiltInAndCustomFormats) {
  // cellXfs: 0 General, 1 built-in 14 (date), 2 custom 164 dd/mm/yyyy, 3 custom 165 with "d"
  // only in quotes (a number), 4 built-in 22 (date time), 5 custom 166 [$-40C]d mmmm yyyy.
  const std::string book =
      XlsxBuilder()
          .customFormat(164, "dd/mm/yyyy;@")
          .customFormat(165, "0.00&quot; dh&quot;")
          .customFormat(166, "[$-40C]d mmmm yyyy")
          .cellFormats({0, 14, 164, 165, 22, 166})
          .sheet("Dates",
                 "<row r=\"1\"><c t=\"inlineStr\"><is><t>A</t></is></c><c t=\"inlineStr\"><is><t>B"
                 "</t></is></c><c t=\"inlineStr\"><is><t>C</t></is></c><c t=\"inlineStr\"><is><t>"
                 "D</t></is></c><c t=\"inlineStr\"><is><t>E</t></is></c><c t=\"inlineStr\"><is>"
                 "<t>F</t></is></c></row>"
                 "<row r=\"2\"><c s=\"0\"><v>45366</v></c><c s=\"1\"><v>45366</v></c>"
                 "<c s=\"2\"><v>45366</v></c><c s=\"3\"><v>45366</v></c>"
                 "<c s=\"4\"><v>45366.75</v></c><c s=\"5\"><v>61</v></c></row>"
                 "<row r=\"3\"><c s=\"1\"><v>59</v></c><c s=\"1\"><v>60</v></c>"
                 "<c s=\"4\"><v>45366.999999999</v></c><c s=\"4\"><v>0.5</v></c>"
                 "<c s=\"1\" t=\"d\"><v>2024-03-15T00:00:00Z</v></c></row>")
          .build();
  const auto records = readSheet(book);
  ASSERT_EQ(records.size(), 2U);
  EXPECT_EQ(records[0].fields,
            (std::vector<std::string>{"45366", "2024-03-15", "2024-03-15", "45366",
                                      "2024-03-15 18:00:00", "1900-03-01"}));
  EXPECT_EQ(records[1].fields, (std::vector<std::string>{"1900-02-28", "1900-02-29", "2024-03-16",
                                                         "12:00:00", "2024-03-15", ""}));
}

TEST(XlsxTest, Honours1904DateSystem) {
  const std::string sheet =
      "<row r=\"1\"><c t=\"inlineStr\"><is><t>Date</t></is></c></row>"
      "<row r=\"2\"><c s=\"1\"><v>43904</v></c></row>"
      "<row r=\"3\"><c s=\"1\"><v>0</v></c></row>";
  const auto r1904 =
      readSheet(XlsxBuilder().cellFormats({0, 14}).date1904().sheet("S", sheet).build());
  ASSERT_EQ(r1904.size(), 2U);
  EXPECT_EQ(r1904[0].fields[0], "2024-03-15");
  EXPECT_EQ(r1904[1].fields[0], "1904-01-01");
  const auto r1900 = readSheet(XlsxBuilder().cellFormats({0, 14}).sheet("S", sheet).build());
  EXPECT_EQ(r1900[0].fields[0], "2020-03-14");  // the same serial, 1462 days earlier
}

TEST(XlsxTest, SparseCellsLandInTheirColumnsAndRowsKeepTheirNumbers) {
  const std::string book =
      XlsxBuilder()
          .sheet("S",
                 "<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>Nom</t></is></c>"
                 "<c r=\"B2\" t=\"inlineStr\"><is><t>Ville</t></is></c>"
                 "<c r=\"C2\" t=\"inlineStr\"><is><t>Pays</t></is></c></row>"
                 "<row r=\"3\" spans=\"1:3\"><c r=\"A3\" s=\"0\"/></row>"  // styled, no value
                 "<row r=\"5\"><c r=\"C5\" t=\"inlineStr\"><is><t>Maroc</t></is></c></row>"
                 "<row r=\"7\"><c r=\"A7\" t=\"inlineStr\"><is><t>Atlas</t></is></c>"
                 "<c r=\"AB7\" t=\"inlineStr\"><is><t>note</t></is></c></row>"
                 "<row r=\"8\"><c t=\"inlineStr\"><is><t>Rif</t></is></c>"
                 "<c t=\"inlineStr\"><is><t>Tétouan</t></is></c></row>")
          .build();
  std::unique_ptr<Table> table;
  const auto records = readSheet(book, &table);
  EXPECT_EQ(table->header().line(), 2U);
  ASSERT_EQ(records.size(), 3U);
  EXPECT_EQ(records[0].line, 5U);
  EXPECT_EQ(records[0].fields, (std::vector<std::string>{"", "", "Maroc"}));
  EXPECT_EQ(records[1].line, 7U);
  EXPECT_FALSE(records[1].ok());
  EXPECT_NE(records[1].problem.find("cell AB7"), std::string::npos) << records[1].problem;
  EXPECT_EQ(records[2].line, 8U);
  EXPECT_EQ(records[2].fields, (std::vector<std::string>{"Rif", "Tétouan", ""}));
}

TEST(XlsxTest, HeaderLineSkipsTitleRows) {
  const std::string book =
      XlsxBuilder()
          .sheet("S",
                 "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>Exportateurs 2024</t></is></c>"
                 "</row><row r=\"3\"><c r=\"A3\" t=\"inlineStr\"><is><t>ICE</t></is></c>"
                 "<c r=\"B3\" t=\"inlineStr\"><is><t>Nom</t></is></c></row>"
                 "<row r=\"4\"><c r=\"A4\"><v>7</v></c><c r=\"B4\" t=\"inlineStr\"><is><t>"
                 "Atlas</t></is></c></row>")
          .build();
  TableOptions options;
  options.header_line = 2;
  std::unique_ptr<Table> table;
  const auto records = readSheet(book, &table, options);
  EXPECT_EQ(table->header().names(), (std::vector<std::string>{"ICE", "Nom"}));
  EXPECT_EQ(table->header().line(), 3U);
  ASSERT_EQ(records.size(), 1U);
  EXPECT_EQ(records[0].fields, (std::vector<std::string>{"7", "Atlas"}));
  options.header_line = 5;
  EXPECT_NE(errorOf(book, options).find("no header at or below row 5"), std::string::npos);
}

const char kTwoSheets[] =
    "<row r=\"1\"><c t=\"inlineStr\"><is><t>Nom</t></is></c></row>"
    "<row r=\"2\"><c t=\"inlineStr\"><is><t>%s</t></is></c></row>";

std::string twoSheetBook() {
  auto sheet = [](const std::string& v) {
    std::string s = kTwoSheets;
    s.replace(s.find("%s"), 2, v);
    return s;
  };
  return XlsxBuilder().sheet("Notice", sheet("lisez-moi")).sheet("Données", sheet("Atlas")).build();
}

TEST(XlsxTest, FirstOrNamedSheet) {
  EXPECT_EQ(readSheet(twoSheetBook())[0].fields[0], "lisez-moi");
  TableOptions options;
  options.sheet = " données ";  // trimmed, case-insensitive
  EXPECT_EQ(readSheet(twoSheetBook(), nullptr, options)[0].fields[0], "Atlas");
  auto names = xlsxSheetNames(twoSheetBook(), "x.xlsx");
  ASSERT_TRUE(names);
  EXPECT_EQ(*names, (std::vector<std::string>{"Notice", "Données"}));
}

TEST(XlsxTest, MissingSheetListsTheSheetsAndTheSetting) {
  TableOptions options;
  options.sheet = "Exportateurs";
  options.sheet_key = "plugin.souss.sheet";
  const std::string m = errorOf(twoSheetBook(), options);
  EXPECT_NE(m.find("exportateurs.xlsx' has no sheet named 'Exportateurs'"), std::string::npos) << m;
  EXPECT_NE(m.find("'Notice', 'Données'"), std::string::npos) << m;
  EXPECT_NE(m.find("plugin.souss.sheet"), std::string::npos) << m;
}

TEST(XlsxTest, MissingPartsAndWrongFiles) {
  const std::string sheet = "<row r=\"1\"><c t=\"s\"><v>0</v></c></row>";
  std::string m = errorOf(XlsxBuilder().sheet("S", sheet).without("xl/workbook.xml").build());
  EXPECT_NE(m.find("no workbook part 'xl/workbook.xml'"), std::string::npos) << m;
  m = errorOf(XlsxBuilder().sheet("S", sheet).without("xl/worksheets/sheet1.xml").build());
  EXPECT_NE(m.find("sheet 'S' has no data part"), std::string::npos) << m;
  m = errorOf(XlsxBuilder().sheet("S", sheet).build());  // t="s" but no shared strings
  EXPECT_NE(m.find("no shared strings part"), std::string::npos) << m;
  m = errorOf(XlsxBuilder()
                  .sharedStrings({"<t>a</t>"})
                  .sheet("S",
                         "<row><c t=\"s\"><v>3</v></c>"
                         "</row>")
                  .build());
  EXPECT_NE(m.find("cell A1 refers to shared string '3'"), std::string::npos) << m;
  m = errorOf(XlsxBuilder().sheet("S", "").build());
  EXPECT_NE(m.find("is empty: no header row"), std::string::npos) << m;
  m = errorOf(XlsxBuilder().sheet("S", "<row><c t=\"inlineStr\"><is><t>a</is></c></row>").build());
  EXPECT_NE(m.find("not well-formed XML"), std::string::npos) << m;
  m = errorOf("Nom;Ville\r\nAtlas;Rabat\r\n");
  EXPECT_NE(m.find("not an .xlsx workbook"), std::string::npos) << m;
  m = errorOf(std::string("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) + std::string(500, '\0'));
  EXPECT_NE(m.find("old Excel 97-2003"), std::string::npos) << m;
  m = errorOf("PK\x03\x04 truncated");
  EXPECT_NE(m.find("not a readable zip archive"), std::string::npos) << m;
}

std::string bigSheetBook(size_t rows) {
  std::string data = "<row r=\"1\"><c t=\"inlineStr\"><is><t>Nom</t></is></c></row>";
  for (size_t i = 2; i < rows + 2; ++i) {
    data += "<row r=\"" + std::to_string(i) + "\"><c t=\"inlineStr\"><is><t>" +
            std::string(60, 'a') + "</t></is></c></row>";
  }
  return XlsxBuilder().sheet("S", data).build();
}

TEST(XlsxTest, ZipBombIsRefusedByDeclaredSize) {
  const std::string book = bigSheetBook(20000);  // ~2 MB of XML, a few KB zipped
  ASSERT_LT(book.size(), 100000U);
  TableOptions options;
  options.limits.max_entry_bytes = 1 << 20;
  const std::string m = errorOf(book, options);
  EXPECT_NE(m.find("part 'xl/worksheets/sheet1.xml' declares"), std::string::npos) << m;
  EXPECT_NE(m.find("max_entry_bytes"), std::string::npos) << m;
  EXPECT_NE(m.find("zip bomb"), std::string::npos) << m;
  options.limits.max_entry_bytes = 8 << 20;
  EXPECT_EQ(errorOf(book, options), "");
}

void patchLe32(std::string& bytes, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    bytes[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  }
}

TEST(XlsxTest, ZipBombWithLyingSizesIsRefusedWhileInflating) {
  std::string book = bigSheetBook(20000);
  const std::string name = "xl/worksheets/sheet1.xml";
  // Claim 1000 bytes uncompressed in the local header and the central directory entry.
  for (size_t pos = book.find("PK\x03\x04"); pos != std::string::npos;
       pos = book.find("PK\x03\x04", pos + 1)) {
    if (book.compare(pos + 30, name.size(), name) == 0) {
      patchLe32(book, pos + 22, 1000);
    }
  }
  for (size_t pos = book.find("PK\x01\x02"); pos != std::string::npos;
       pos = book.find("PK\x01\x02", pos + 1)) {
    if (book.compare(pos + 46, name.size(), name) == 0) {
      patchLe32(book, pos + 24, 1000);
    }
  }
  TableOptions options;
  options.limits.max_entry_bytes = 1 << 20;
  const std::string m = errorOf(book, options);
  EXPECT_NE(m.find("inflates to more than the limit"), std::string::npos) << m;
}

TEST(XlsxTest, RowAndColumnLimits) {
  TableOptions options;
  options.limits.max_records = 100;
  std::string m = errorOf(bigSheetBook(101), options);
  EXPECT_NE(m.find("more than 100 rows (max_records)"), std::string::npos) << m;
  EXPECT_EQ(errorOf(bigSheetBook(100), options), "");

  options = {};
  options.limits.max_fields = 26;
  m = errorOf(XlsxBuilder()
                  .sheet("S",
                         "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>a</t></is></c>"
                         "<c r=\"AA1\" t=\"inlineStr\"><is><t>b</t></is></c></row>")
                  .build(),
              options);
  EXPECT_NE(m.find("cell AA1 is in column 27, beyond the limit of 26 columns (max_fields)"),
            std::string::npos)
      << m;
}

TEST(XlsxTest, PrefixedNamespaces) {
  // A workbook whose parts use a prefix (x:) for the main namespace, as some generators write.
  auto parts = XlsxBuilder().sheet("S", "").parts();
  for (auto& [name, content] : parts) {
    if (name == "xl/worksheets/sheet1.xml") {
      content =
          "<x:worksheet xmlns:x=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
          "<x:sheetData><x:row r=\"1\"><x:c r=\"A1\" t=\"inlineStr\"><x:is><x:t>Nom</x:t></x:is>"
          "</x:c></x:row><x:row r=\"2\"><x:c r=\"A2\"><x:v>7</x:v></x:c></x:row></x:sheetData>"
          "</x:worksheet>";
    }
  }
  const auto records = readSheet(zipParts(parts));
  ASSERT_EQ(records.size(), 1U);
  EXPECT_EQ(records[0].fields[0], "7");
}

// A committed workbook zipped by a streaming writer: sizes and CRCs follow each entry in data
// descriptors (data/make_streamed_xlsx.py).
TEST(XlsxTest, StreamedZipFixture) {
  const std::string book =
      testing::readFile(std::string(ES_SOURCE_DIR) + "/tests/unit/sdk_files/data/streamed.xlsx");
  ASSERT_FALSE(book.empty());
  TableOptions options;
  options.sheet = "Exportateurs";
  std::unique_ptr<Table> table;
  const auto records = readSheet(book, &table, options);
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->header().names(),
            (std::vector<std::string>{"ICE", "Raison sociale", "Date d'agrément"}));
  ASSERT_EQ(records.size(), 1U);
  EXPECT_EQ(records[0].fields,
            (std::vector<std::string>{"001234567000089", "Coopérative Tighanimine", "2024-03-15"}));
  // Without a sheet name: the first sheet, "Notes", a header and no records.
  std::unique_ptr<Table> first;
  EXPECT_TRUE(readSheet(book, &first).empty());
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->header().names(), (std::vector<std::string>{"notes"}));
}

TEST(XlsxHelpersTest, IsDateFormat) {
  for (uint32_t id : {14U, 15U, 16U, 17U, 18U, 19U, 20U, 21U, 22U, 45U, 46U, 47U}) {
    EXPECT_TRUE(isDateFormat(id, "")) << id;
  }
  for (uint32_t id : {0U, 1U, 2U, 4U, 10U, 13U, 23U, 44U, 48U, 49U}) {
    EXPECT_FALSE(isDateFormat(id, "")) << id;
  }
  EXPECT_TRUE(isDateFormat(164, "dd/mm/yyyy"));
  EXPECT_TRUE(isDateFormat(164, "[$-40C]d mmmm yyyy;@"));
  EXPECT_TRUE(isDateFormat(164, "yyyy-mm-dd hh:mm"));
  EXPECT_FALSE(isDateFormat(164, "General"));
  EXPECT_FALSE(isDateFormat(164, "#,##0.00 \"MAD\""));
  EXPECT_FALSE(isDateFormat(164, "0.00\" jours\""));
  EXPECT_FALSE(isDateFormat(164, "[Red]-#,##0.00"));
  EXPECT_FALSE(isDateFormat(164, "#,##0\\ \\d\\h"));
  EXPECT_FALSE(isDateFormat(164, "[$MAD-1801] #,##0.00"));
}

TEST(XlsxHelpersTest, SerialToIso) {
  EXPECT_EQ(excelSerialToIso(1, false), "1900-01-01");
  EXPECT_EQ(excelSerialToIso(59, false), "1900-02-28");
  EXPECT_EQ(excelSerialToIso(60, false), "1900-02-29");
  EXPECT_EQ(excelSerialToIso(61, false), "1900-03-01");
  EXPECT_EQ(excelSerialToIso(45366, false), "2024-03-15");
  EXPECT_EQ(excelSerialToIso(45366.5, false), "2024-03-15 12:00:00");
  EXPECT_EQ(excelSerialToIso(45366 + 1.0 / 86400, false), "2024-03-15 00:00:01");
  EXPECT_EQ(excelSerialToIso(0.75, false), "18:00:00");
  EXPECT_EQ(excelSerialToIso(0, true), "1904-01-01");
  EXPECT_EQ(excelSerialToIso(43904.25, true), "2024-03-15 06:00:00");
  EXPECT_EQ(excelSerialToIso(2958465, false), "9999-12-31");
  EXPECT_EQ(excelSerialToIso(2958466, false), std::nullopt);
  EXPECT_EQ(excelSerialToIso(2958465, true), std::nullopt);
  EXPECT_EQ(excelSerialToIso(-1, false), std::nullopt);
}

TEST(XlsxHelpersTest, FormatNumberWithoutFloatNoise) {
  EXPECT_EQ(formatExcelNumber(1234.4999999999998), "1234.5");
  EXPECT_EQ(formatExcelNumber(0.1 + 0.2), "0.3");
  EXPECT_EQ(formatExcelNumber(1234.49999), "1234.49999");
  EXPECT_EQ(formatExcelNumber(42), "42");
  EXPECT_EQ(formatExcelNumber(-3), "-3");
  EXPECT_EQ(formatExcelNumber(-0.0), "0");
  EXPECT_EQ(formatExcelNumber(1234567000089), "1234567000089");
  EXPECT_EQ(formatExcelNumber(0.001), "0.001");
  EXPECT_EQ(formatExcelNumber(12.5e-6), "0.0000125");
  EXPECT_EQ(formatExcelNumber(1e20), "100000000000000000000");
  EXPECT_EQ(formatExcelNumber(1.5e21), "1.5E+21");
  EXPECT_EQ(formatExcelNumber(2.5e-21), "2.5E-21");
  EXPECT_EQ(formatExcelNumber(123456789012345678.0), "123456789012346000");
}

}  // namespace
}  // namespace exportsync::files
