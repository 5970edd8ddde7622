// CSV reader: French Excel exports (`;`, BOM, Windows code pages), RFC 4180 quoting, line
// numbers, malformed records and limits.
#include "exportsync/files/csv.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace exportsync::files {
namespace {

std::unique_ptr<Table> open(const std::string& bytes, const TableOptions& options = {}) {
  auto table = openCsv(bytes, "ventes.csv", options);
  EXPECT_TRUE(table) << table.status().message();
  return table ? std::move(*table) : nullptr;
}

std::vector<Record> all(Table& table) {
  auto records = readAll(table);
  EXPECT_TRUE(records) << records.status().message();
  return records ? std::move(*records) : std::vector<Record>{};
}

std::string errorOf(const std::string& bytes, const TableOptions& options = {}) {
  auto table = openCsv(bytes, "ventes.csv", options);
  if (!table) {
    return table.status().message();
  }
  auto records = readAll(**table);
  return records ? "" : records.status().message();
}

// A French-locale export: BOM, `;`, decimal commas, quoted `;`, doubled quotes and a line break
// inside a quoted field (CRLF), then records after it.
const char kFrenchExport[] =
    "\xEF\xBB\xBF"
    "Raison sociale;Ville;Montant (MAD);Date\r\n"
    "Coopérative Argane Tiznit;Tiznit;1234,50;15/03/2024\r\n"
    "\"Sté \"\"Atlas\"\" ; Export\";\"Casa\r\nBlanca\";\"12 000,00\";16/03/2024\r\n"
    "Tannerie Chouara;Fès;980;17/03/2024\r\n"
    "\r\n"
    "Dattes Erfoud;Errachidia;75,25;18/03/2024\r\n";

TEST(CsvTest, ReadsAFrenchExcelExport) {
  auto table = open(kFrenchExport);
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->header().names(),
            (std::vector<std::string>{"Raison sociale", "Ville", "Montant (MAD)", "Date"}));
  EXPECT_EQ(table->header().line(), 1U);
  const auto records = all(*table);
  ASSERT_EQ(records.size(), 4U);
  EXPECT_EQ(records[0].line, 2U);
  EXPECT_EQ(records[0].fields, (std::vector<std::string>{"Coopérative Argane Tiznit", "Tiznit",
                                                         "1234,50", "15/03/2024"}));
  EXPECT_EQ(records[1].line, 3U);
  EXPECT_EQ(records[1].fields, (std::vector<std::string>{"Sté \"Atlas\" ; Export", "Casa\r\nBlanca",
                                                         "12 000,00", "16/03/2024"}));
  EXPECT_TRUE(records[1].ok());
  // The multi-line record spans lines 3-4: the next one starts on line 5.
  EXPECT_EQ(records[2].line, 5U);
  EXPECT_EQ(records[2].fields[1], "Fès");
  // Line 6 is blank and skipped; line numbers stay physical.
  EXPECT_EQ(records[3].line, 7U);
  EXPECT_EQ(records[3].fields[0], "Dattes Erfoud");
  EXPECT_TRUE(table->status());
}

TEST(CsvTest, LineNumbersWithLfAndCrLineEnds) {
  auto lf = open("a;b\n\"x\ny\nz\";1\n\n\nlast;2\n");
  auto records = all(*lf);
  ASSERT_EQ(records.size(), 2U);
  EXPECT_EQ(records[0].line, 2U);
  EXPECT_EQ(records[0].fields[0], "x\ny\nz");
  EXPECT_EQ(records[1].line, 7U);

  auto cr = open("a;b\rx;1\ry;2");  // old Mac Excel, no final line end
  records = all(*cr);
  ASSERT_EQ(records.size(), 2U);
  EXPECT_EQ(records[1].line, 3U);
  EXPECT_EQ(records[1].fields, (std::vector<std::string>{"y", "2"}));
}

TEST(CsvTest, DecodesWindows1252) {
  TableOptions options;
  options.encoding = Encoding::Windows1252;
  auto table = open(
      "D\xE9signation;Prix;Remarque\r\n"
      "Caf\xE9 cr\xE8me;3 \x80;\x8Cuvre de fa\xE7on \x9Cil\r\n",
      options);
  EXPECT_EQ(table->header().names()[0], "Désignation");
  const auto records = all(*table);
  ASSERT_EQ(records.size(), 1U);
  EXPECT_EQ(records[0].fields,
            (std::vector<std::string>{"Café crème", "3 €", "Œuvre de façon œil"}));
}

TEST(CsvTest, DecodesWindows1256Arabic) {
  TableOptions options;
  options.encoding = Encoding::Windows1256;
  auto table = open(
      "\xC7\xE1\xC7\xD3\xE3\x3B\xC7\xE1\xE3\xCF\xED\xE4\xC9\r\n"
      "\xD4\xD1\xDF\xC9\x20\xC7\xE1\xC3\xD8\xE1\xD3;\xC7\xE1\xD1\xC8\xC7\xD8\r\n",
      options);
  EXPECT_EQ(table->header().names(), (std::vector<std::string>{"الاسم", "المدينة"}));
  const auto records = all(*table);
  ASSERT_EQ(records.size(), 1U);
  EXPECT_EQ(records[0].fields, (std::vector<std::string>{"شركة الأطلس", "الرباط"}));
  EXPECT_TRUE(table->header().find("المدينة").has_value());
}

TEST(CsvTest, InvalidUtf8IsAnErrorNamingTheLineAndTheEncodingSetting) {
  TableOptions options;
  options.encoding_key = "plugin.oriental.encoding";
  const std::string m = errorOf("Nom;Ville\r\nOK;Oujda\r\nCaf\xE9;Nador\r\n", options);
  EXPECT_NE(m.find("ventes.csv' line 3"), std::string::npos) << m;
  EXPECT_NE(m.find("plugin.oriental.encoding"), std::string::npos) << m;
  EXPECT_NE(m.find("windows-1252"), std::string::npos) << m;
}

TEST(CsvTest, DetectsTheSeparatorOutsideQuotes) {
  EXPECT_EQ(detectSeparator("Nom;Ville;Pays"), ';');
  EXPECT_EQ(detectSeparator("name,city,country"), ',');
  EXPECT_EQ(detectSeparator("name\tcity\tcountry"), '\t');
  EXPECT_EQ(detectSeparator("\"Nom, prénom\";Ville"), ';');  // the comma is quoted
  EXPECT_EQ(detectSeparator("\"a;b;c\",d"), ',');
  EXPECT_EQ(detectSeparator("Nom"), ';');
  EXPECT_EQ(detectSeparator("a;b,c"), ';');  // tie: French default

  auto comma = open("name,amount\r\n\"Atlas, SARL\",\"1,5\"\r\n");
  auto records = all(*comma);
  ASSERT_EQ(records.size(), 1U);
  EXPECT_EQ(records[0].fields, (std::vector<std::string>{"Atlas, SARL", "1,5"}));

  auto tab = open("Nom\tVille\r\nAtlas\tRabat\r\n");
  EXPECT_EQ(all(*tab)[0].fields, (std::vector<std::string>{"Atlas", "Rabat"}));
}

TEST(CsvTest, ForcedSeparator) {
  TableOptions options;
  options.separator = ',';
  auto table = open("Nom;Ville,Pays\r\nA;B,C\r\n", options);
  EXPECT_EQ(table->header().names(), (std::vector<std::string>{"Nom;Ville", "Pays"}));
  EXPECT_EQ(all(*table)[0].fields, (std::vector<std::string>{"A;B", "C"}));
}

TEST(CsvTest, WrongFieldCountsAreReportedPerRecord) {
  auto table = open(
      "ICE;Nom;Montant\r\n"
      "001234567000089;Atlas;1234,5\r\n"    // unquoted decimal comma would be fine with ';'
      "001234567000090;Sahara\r\n"          // one field short
      "001234567000091;Rif;12;extra\r\n"    // one field too many
      "001234567000092;Souss;7;;\r\n"       // empty trailing fields: Excel's used range, dropped
      "001234567000093;\"Atlas\" SA;8\r\n"  // text after the closing quote
      "001234567000094;Draa;9\r\n");
  const auto records = all(*table);
  ASSERT_EQ(records.size(), 6U);
  EXPECT_TRUE(records[0].ok());
  EXPECT_FALSE(records[1].ok());
  EXPECT_EQ(records[1].line, 3U);
  EXPECT_NE(records[1].problem.find("has 2 fields, the header (line 1) has 3"), std::string::npos)
      << records[1].problem;
  EXPECT_FALSE(records[2].ok());
  EXPECT_NE(records[2].problem.find("has 4 fields"), std::string::npos);
  EXPECT_TRUE(records[3].ok()) << records[3].problem;
  EXPECT_EQ(records[3].fields.size(), 3U);
  EXPECT_FALSE(records[4].ok());
  EXPECT_NE(records[4].problem.find("after its closing quote"), std::string::npos);
  EXPECT_EQ(records[4].fields[1], "Atlas SA");
  EXPECT_TRUE(records[5].ok());
  EXPECT_EQ(records[5].line, 7U);
}

TEST(CsvTest, SkipsBlankAndSeparatorOnlyLinesAndTrims) {
  auto table = open(
      "\r\n\r\n Nom ; Ville \r\n;;\r\n   \r\n\xC2\xA0"
      "Atlas ;\tRabat\r\n");
  EXPECT_EQ(table->header().line(), 3U);
  EXPECT_EQ(table->header().names(), (std::vector<std::string>{"Nom", "Ville"}));
  const auto records = all(*table);
  ASSERT_EQ(records.size(), 1U);
  EXPECT_EQ(records[0].line, 6U);
  EXPECT_EQ(records[0].fields, (std::vector<std::string>{"Atlas", "Rabat"}));

  TableOptions raw;
  raw.trim_fields = false;
  auto untrimmed = open("Nom;Ville\r\n Atlas ;Rabat\r\n", raw);
  EXPECT_EQ(all(*untrimmed)[0].fields[0], " Atlas ");
}

TEST(CsvTest, HeaderErrors) {
  EXPECT_NE(errorOf("").find("is empty"), std::string::npos);
  EXPECT_NE(errorOf("\r\n;;\r\n").find("no header"), std::string::npos);
  const std::string dup = errorOf("Nom;Ville;VILLE \r\nA;B;C\r\n");
  EXPECT_NE(dup.find("'VILLE' appears twice (columns 2 and 3)"), std::string::npos) << dup;
  const std::string empty = errorOf("Nom;;Ville\r\nA;B;C\r\n");
  EXPECT_NE(empty.find("column 2 (B) has no name"), std::string::npos) << empty;
  // Empty trailing header cells (Excel's used range) are dropped, not an error.
  auto table = open("Nom;Ville;;\r\nA;B;;\r\n");
  EXPECT_EQ(table->header().size(), 2U);
  EXPECT_TRUE(all(*table)[0].ok());
}

TEST(CsvTest, HeaderLineSkipsTitlesAboveTheHeader) {
  const std::string bytes =
      "Liste des exportateurs \"2024\" - D\xC3\xA9l\xC3\xA9gation d'Agadir;;\r\n"
      "\r\n"
      "ICE;Raison sociale\r\n"
      "001234567000089;Atlas\r\n";
  TableOptions options;
  options.header_line = 3;
  auto table = open(bytes, options);
  EXPECT_EQ(table->header().line(), 3U);
  EXPECT_EQ(table->header().names(), (std::vector<std::string>{"ICE", "Raison sociale"}));
  const auto records = all(*table);
  ASSERT_EQ(records.size(), 1U);
  EXPECT_EQ(records[0].line, 4U);
  EXPECT_TRUE(records[0].ok());
  options.header_line = 9;
  EXPECT_NE(errorOf(bytes, options).find("no header at or below line 9"), std::string::npos);
}

TEST(CsvTest, UnclosedQuoteIsFatalAndNamesTheLineWhereItOpened) {
  const std::string m = errorOf("Nom;Ville\r\nA;B\r\n\"Atlas;Rabat\r\nC;D\r\n");
  EXPECT_NE(m.find("ventes.csv' line 3"), std::string::npos) << m;
  EXPECT_NE(m.find("never closed"), std::string::npos) << m;
}

TEST(CsvTest, Limits) {
  TableOptions options;
  options.limits.max_field_bytes = 16;
  std::string m = errorOf("Nom;Ville\r\nA;B\r\nAtlas;" + std::string(17, 'x') + "\r\n", options);
  EXPECT_NE(m.find("line 3: field 2 is longer than 16 bytes (max_field_bytes)"), std::string::npos)
      << m;
  // A runaway quote is stopped by the field limit, not by the end of a huge file.
  m = errorOf("Nom;Ville\r\n\"A;B\r\n" + std::string(100, 'y') + "\";C\r\n", options);
  EXPECT_NE(m.find("line 2: field 1 is longer"), std::string::npos) << m;

  options = {};
  options.limits.max_fields = 3;
  m = errorOf("a;b;c\r\n1;2;3;4\r\n", options);
  EXPECT_NE(m.find("line 2: more than 3 fields (max_fields)"), std::string::npos) << m;

  options = {};
  options.limits.max_records = 2;
  m = errorOf("a\r\n1\r\n2\r\n3\r\n", options);
  EXPECT_NE(m.find("line 4: more than 2 records (max_records)"), std::string::npos) << m;
  EXPECT_EQ(errorOf("a\r\n1\r\n2\r\n", options), "");

  options = {};
  options.limits.max_file_bytes = 10;
  m = errorOf("Nom;Ville\r\nAtlas;Rabat\r\n", options);
  EXPECT_NE(m.find("max_file_bytes"), std::string::npos) << m;
}

TEST(CsvTest, QuoteField) {
  EXPECT_EQ(quoteCsvField("Atlas", ';'), "Atlas");
  EXPECT_EQ(quoteCsvField("a;b", ';'), "\"a;b\"");
  EXPECT_EQ(quoteCsvField("a,b", ';'), "a,b");
  EXPECT_EQ(quoteCsvField("Sté \"Atlas\"", ';'), "\"Sté \"\"Atlas\"\"\"");
  EXPECT_EQ(quoteCsvField("x\ny", ','), "\"x\ny\"");
}

}  // namespace
}  // namespace exportsync::files
