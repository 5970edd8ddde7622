// The csv-generic plugin through the agent runtime (loadPluginFile, describePlugin,
// collectPlugin) against a temporary store and inbox: the worked example of
// docs/plugins/csv-generic.md (the MA-06 sample and its csv-generic.properties) gives the
// documented rows and rejections; every configuration error names its full key (table-driven);
// the dataset follows the settings, compatible changes only.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "plugin_test_support.hpp"

namespace exportsync::testing::plugins {
namespace {

const std::string kSampleDir = "config/samples/csv-generic/MA-06/";
const std::string kSample = "ccis-declarations-mars-2024.csv";

// The settings of the worked example, as installer/demo.sh appends them.
void useWorkedExample(PluginRig& rig) {
  rig.settings() = rig.sampleSettings(kSampleDir + "csv-generic.properties");
}

TEST(CsvGeneric, WorkedExampleGivesTheDocumentedRowsAndRejections) {
  PluginRig rig("csv-generic", "MA-06");
  useWorkedExample(rig);
  ASSERT_EQ(rig.settings().at("inbox"), rig.inbox());
  rig.copySample(kSampleDir + kSample);
  const auto stats = rig.runOk();
  EXPECT_EQ(stats.upserted, 5 + 4 + 4);
  EXPECT_EQ(stats.rejected, 7);

  EXPECT_EQ(
      rig.query("SELECT reference, ice, date_declaration, montant, poids, frigorifique, "
                "observations FROM csv_generic__declarations_ccis ORDER BY reference"),
      (Rows{
          {"D24-031-0001", "002784512000039", "2024-03-04", "124560000", "84300.0", "1", "NULL"},
          {"D24-031-0002", "002784512000039", "2024-03-18", "35620050", "24100.0", "1",
           "Olives vertes dénoyautées"},
          {"D24-031-0003", "001963258000071", "2024-03-06", "84500000", "5200.0", "0", "NULL"},
          {"D24-031-0004", "002315874000046", "2024-03-12", "218000000", "1450.0", "0",
           "Livraison partielle"},
          {"D24-031-0005", "001428796000052", "2024-03-20", "41275000", "18600.0", "1", "NULL"}}));
  EXPECT_EQ(rig.query(exportersSql("csv-generic")),
            (Rows{{"001428796000052", "ice", "Doukkala Lait et Dérivés", "NULL", "sa", "MA-06",
                   "NULL", "agrifood", "NULL", "NULL", "NULL"},
                  {"001963258000071", "ice", "Bouznika Textile", "NULL", "sarl_au", "MA-06", "NULL",
                   "textile_leather", "NULL", "NULL", "NULL"},
                  {"002315874000046", "ice", "El Jadida Aéro Composants", "NULL", "sa", "MA-06",
                   "NULL", "aeronautics", "NULL", "NULL", "NULL"},
                  {"002784512000039", "ice", "Les Conserves de Mazagan", "NULL", "sarl", "MA-06",
                   "NULL", "agrifood", "NULL", "NULL", "NULL"}}));
  // Declarations 0001 and 0002 share exporter, HS code, destination and month: summed.
  EXPECT_EQ(
      rig.query(exportFlowsSql("csv-generic")),
      (Rows{{"001428796000052", "0406900000", "MR", "2024-03", "41275000", "18600.0", "kg"},
            {"001963258000071", "6109100000", "ES", "2024-03", "84500000", "5200.0", "kg"},
            {"002315874000046", "8803300000", "FR", "2024-03", "218000000", "1450.0", "kg"},
            {"002784512000039", "2005700000", "FR", "2024-03", "160180050", "108400.0", "kg"}}));

  EXPECT_EQ(rig.files("done"), std::vector<std::string>{kSample});
  EXPECT_EQ(rig.files("rejected"), std::vector<std::string>{kSample + ".errors.csv"});
  EXPECT_EQ(
      rig.errors(kSample),
      (std::vector<ErrorLine>{
          {"7", "Conteneur frigorifique", "peut-être",
           "value 'peut-être' is not yes or no; write oui or non (also vrai/faux, true/false, "
           "yes/no, 1/0)"},
          {"8", "Date déclaration", "31/02/2024",
           "date '31/02/2024' does not exist: February 2024 has 29 days"},
          {"8", "Montant (DH)", "1,234",
           "amount '1,234' has 3 decimals; at most 2 are allowed (centimes): round it in the "
           "source"},
          {"8", "ICE", "00196325800007",
           "ICE must be 15 digits, got '00196325800007' (14 digits); if a spreadsheet dropped "
           "its leading zeros, format the column as text and type the ICE again"},
          {"9", "Réf. déclaration", "D24-031-0003",
           "same key as line 4; the first line is kept. Make the key columns unique"},
          {"10", "Montant (DH)", "", "value is empty; a value is required"},
          {"10", "Pays", "UK",
           "country 'UK' is not an ISO 3166-1 alpha-2 code: use GB for the United Kingdom"}}));

  // The same file again: nothing new.
  const int64_t changes = rig.changes();
  rig.copySample(kSampleDir + kSample);
  EXPECT_EQ(rig.runOk().upserted, 0);
  EXPECT_EQ(rig.changes(), changes);
}

TEST(CsvGeneric, OwnDatasetOnlyWithDefaultSourceNamesAndOptionalCells) {
  PluginRig rig("csv-generic", "MA-04");
  rig.settings()["dataset"] = "prix_export";
  rig.settings()["columns"] =
      "code:text:key, libelle:text, montant:money, date:date, quantite:real?, bio:boolean?, "
      "rang:integer?";
  rig.settings()["column.montant.from"] = "Montant (DH)";
  rig.dropFile("prix.csv",
               "Code;Libellé;Montant (DH);Date;Quantite;Bio;Rang\n"
               "P-01;Huile d'olive extra vierge;1 234,50;2024-03-01;12,5;Oui;1\n"
               "P-02;Câpres;-12,00;01/03/2024;;non;\n"
               "P-03;Olives;12;2024-03-02;;;2,5\n");
  rig.settings()["column.libelle.from"] = "Libellé";
  const auto stats = rig.runOk();
  EXPECT_EQ(stats.upserted, 2);
  EXPECT_EQ(rig.query("SELECT * FROM csv_generic__prix_export ORDER BY code"),
            (Rows{{"P-01", "Huile d'olive extra vierge", "123450", "2024-03-01", "12.5", "1", "1"},
                  {"P-02", "Câpres", "-1200", "2024-03-01", "NULL", "0", "NULL"}}));
  EXPECT_EQ(rig.errors("prix.csv"),
            (std::vector<ErrorLine>{{"4", "Rang", "2,5", "number '2,5' is not a whole number"}}));
  // The core datasets are declared, and empty.
  EXPECT_EQ(rig.query("SELECT COUNT(*) FROM csv_generic__export_flows"), (Rows{{"0"}}));
}

TEST(CsvGeneric, FileLackingAConfiguredColumnIsRefusedWholeNamingTheSetting) {
  PluginRig rig("csv-generic", "MA-06");
  useWorkedExample(rig);
  rig.dropFile(
      "incomplet.csv",  // UTF-8 with its BOM, which wins over the encoding setting
      "\xEF\xBB\xBFRéf. déclaration;ICE;Raison sociale;Forme juridique;Activité;Code SH;Pays;Date "
      "déclaration;Poids (kg);Conteneur frigorifique;Observations\n"
      "D1;002784512000039;Mazagan;SARL;agroalimentaire;200570;FR;04/03/2024;1;oui;\n");
  const auto stats = rig.runOk();
  EXPECT_EQ(stats.upserted, 0);
  EXPECT_EQ(rig.files("rejected"),
            (std::vector<std::string>{"incomplet.csv", "incomplet.csv.reason.txt"}));
  EXPECT_EQ(rig.reason("incomplet.csv"),
            "file 'incomplet.csv' (header on line 1) has no column 'Montant (DH)' "
            "(plugin.csv-generic.column.montant.from), 'Montant (DH)' "
            "(plugin.csv-generic.map.value_mad); columns present: 'Réf. déclaration', 'ICE', "
            "'Raison sociale', 'Forme juridique', 'Activité', 'Code SH', 'Pays', 'Date "
            "déclaration', 'Poids (kg)', 'Conteneur frigorifique', 'Observations'. Rename the "
            "file's column or change the setting (case does not matter)");
}

// Every configuration error names its full key. Each case starts from a valid configuration
// (own dataset + both core datasets) and changes one or two settings.
struct ConfigCase {
  std::map<std::string, std::string> set;  // "" value: remove the key
  std::string expect;                      // part of the message
};

TEST(CsvGeneric, EveryConfigErrorNamesItsKey) {
  const std::map<std::string, std::string> valid = {
      {"dataset", "prix_export"},
      {"columns", "code:text:key, montant:money, quantite:real?"},
      {"column.montant.from", "Montant (DH)"},
      {"core", "exporters, export_flows"},
      {"map.exporter_id", "ICE"},
      {"map.name", "Raison sociale"},
      {"const.legal_form", "sarl"},
      {"map.sector", "Secteur"},
      {"map.hs_code", "Code SH"},
      {"map.destination", "Pays"},
      {"map.period", "Mois"},
      {"map.value_mad", "Montant (DH)"},
  };
  const std::string k = "config key 'plugin.csv-generic.";
  const std::vector<ConfigCase> cases = {
      {{{"dataset", ""}}, k + "dataset' is missing; name the dataset"},
      {{{"columns", ""}, {"column.montant.from", ""}}, k + "columns' is missing; list the"},
      {{{"dataset", ""}, {"columns", ""}, {"column.montant.from", ""}, {"core", ""}},
       k + "dataset' is missing; set plugin.csv-generic.dataset and"},
      {{{"dataset", "Prix Export"}}, k + "dataset': 'Prix Export' is not a dataset name"},
      {{{"dataset", "exporters"}}, k + "dataset': 'exporters' is a core dataset"},
      {{{"version", "0"}}, k + "version': 0 is out of range [1, 1000000]"},
      {{{"columns", "code"}}, k + "columns': item 'code' has no type"},
      {{{"columns", "code:text:key:x"}}, k + "columns': item 'code:text:key:x' has too many"},
      {{{"columns", "code:float:key, montant:money"}},
       k + "columns': column 'code': type 'float' is not one of"},
      {{{"columns", "code:timestamp:key, montant:money"}},
       k + "columns': column 'code': type timestamp is not supported"},
      {{{"columns", "code:text:pk, montant:money"}},
       k + "columns': item 'code:text:pk': the third part may only be key"},
      {{{"columns", "code:text?:key, montant:money"}},
       k + "columns': key column 'code' cannot be optional"},
      {{{"columns", "code:text:key, montant:money, code:date"}},
       k + "columns': column 'code' is listed twice"},
      {{{"columns", "code:text, montant:money"}}, k + "columns': no column is marked key"},
      {{{"columns", "Code:text:key, montant:money"}}, k + "columns': 'Code' is not a column name"},
      {{{"columns", "code:text:key,, montant:money"}}, k + "columns': item 2 is empty"},
      {{{"column.montnt.from", "X"}},
       k + "column.montnt.from': 'montnt' is not a column of plugin.csv-generic.columns (code, "
           "montant, quantite)"},
      {{{"column.code.form", "X"}}, k + "column.code.form': 'form' is not a column option"},
      {{{"column.montant.max_chars", "10"}},
       k + "column.montant.max_chars': column 'montant' is money; max_chars applies to text"},
      {{{"column.code.max_chars", "0"}}, k + "column.code.max_chars': 0 is out of range"},
      {{{"decimal_mark", "virgule"}}, k + "decimal_mark': 'virgule' is not a decimal mark"},
      {{{"encoding", "ebcdic"}}, k + "encoding': "},
      {{{"separator", "|"}}, k + "separator': "},
      {{{"header_line", "-1"}}, k + "header_line': -1 is out of range"},
      {{{"inbox", ""}}, k + "inbox' is missing; set it to the folder"},
      {{{"inbox", "inbox/csv"}}, k + "inbox': 'inbox/csv' is not an absolute path"},
      {{{"min_age_s", "soon"}}, k + "min_age_s': 'soon' is not an integer"},
      {{{"patterns", ","}}, k + "patterns' is empty; list the file patterns"},
      {{{"core", "flows"}}, k + "core': 'flows' is not a core dataset"},
      {{{"map.hs_code", ""}},
       k + "map.hs_code' is missing; plugin.csv-generic.core includes "
           "export_flows, which needs the file's column of hs_code"},
      {{{"const.legal_form", ""}}, k + "map.legal_form' is missing"},
      {{{"core", "exporters"}},
       k + "map.destination': 'destination' is a column of export_flows, "
           "which plugin.csv-generic.core does not include"},
      {{{"map.secteur", "Secteur"}}, k + "map.secteur': 'secteur' is not a core dataset column"},
      {{{"const.sector", "agrifood"}},
       "config keys 'plugin.csv-generic.const.sector' and 'plugin.csv-generic.map.sector' both "
       "set core column 'sector'; keep one"},
      {{{"const.legal_form", "sarlx"}}, k + "const.legal_form': legal form 'sarlx' is not one of"},
      {{{"const.exporter_id", "1"}, {"map.exporter_id", ""}},
       k + "const.exporter_id': exporter_id comes from the file"},
      {{{"map.quantity", "Poids"}}, k + "map.quantity_unit' is missing; a quantity needs its unit"},
      {{{"const.quantity_unit", "kg"}}, k + "map.quantity' is missing; a unit is set without"},
      {{{"map.region", ""}, {"const.region", "MA-13"}},
       k + "const.region': region 'MA-13' is not a region code"},
      {{{"id_kind", "siret"}}, k + "id_kind': identifier kind 'siret' is not one of"},
      {{{"datset", "prix"}}, k + "datset' is not a setting of csv-generic"},
  };
  for (const auto& c : cases) {
    PluginRig rig("csv-generic", "MA-06");
    for (const auto& [key, value] : valid) {
      rig.settings()[key] = value;
    }
    std::string shown;
    for (const auto& [key, value] : c.set) {
      if (value.empty()) {
        rig.settings().erase(key);
      } else {
        rig.settings()[key] = value;
      }
      shown += key + "=" + value + " ";
    }
    agent::RunStats stats;
    const Status st = rig.run(stats);
    EXPECT_EQ(st.code(), Code::Config) << shown << ": " << st.message();
    EXPECT_NE(st.message().find(c.expect), std::string::npos)
        << shown << "\n  got:      " << st.message() << "\n  expected: " << c.expect;
    EXPECT_EQ(rig.changes(), 0) << shown;
  }
}

TEST(CsvGeneric, SchemaErrorsRefuseThePluginWhenDescribed) {
  PluginRig rig("csv-generic", "MA-06");
  rig.settings()["dataset"] = "prix_export";
  rig.settings()["columns"] = "code:text";
  auto d = rig.describe();
  ASSERT_FALSE(d.isOk());
  EXPECT_EQ(d.status().message(),
            "declare() failed: config key 'plugin.csv-generic.columns': no column is marked key; "
            "add :key to the column(s) that identify a row, e.g. code:text:key");
}

TEST(CsvGeneric, InstalledButNotSetUpDescribesTheCoreDatasetsAndSaysWhatToSetWhenRun) {
  PluginRig rig("csv-generic", "MA-06");
  rig.settings().clear();
  auto d = rig.describe();
  ASSERT_TRUE(d.isOk()) << d.status().message();
  ASSERT_EQ(d->datasets.size(), 2u);
  EXPECT_EQ(d->datasets[0].name, "exporters");
  EXPECT_EQ(d->datasets[1].name, "export_flows");
  agent::RunStats stats;
  const Status st = rig.run(stats);
  EXPECT_EQ(st.code(), Code::Config);
  EXPECT_NE(st.message().find("configure() failed: config key 'plugin.csv-generic.dataset' is "
                              "missing; set plugin.csv-generic.dataset and"),
            std::string::npos)
      << st.message();
}

TEST(CsvGeneric, DatasetFollowsTheSettingsCompatibleChangesOnly) {
  PluginRig rig("csv-generic", "MA-06");
  rig.settings()["dataset"] = "prix_export";
  rig.settings()["columns"] = "code:text:key, montant:money";
  rig.dropFile("a.csv", "code;montant\nA;1,50\n");
  EXPECT_EQ(rig.runOk().upserted, 1);

  // A new optional column with a higher version: added.
  rig.settings()["columns"] = "code:text:key, montant:money, note:text?";
  rig.settings()["version"] = "2";
  rig.dropFile("b.csv", "code;montant;note\nB;2;bien\n");
  EXPECT_EQ(rig.runOk().upserted, 1);
  EXPECT_EQ(rig.query("SELECT code, montant, note FROM csv_generic__prix_export ORDER BY code"),
            (Rows{{"A", "150", "NULL"}, {"B", "200", "bien"}}));

  // A changed type: refused by the store with its reason, nothing written or moved.
  rig.settings()["columns"] = "code:text:key, montant:real, note:text?";
  rig.settings()["version"] = "3";
  rig.dropFile("c.csv", "code;montant;note\nC;2;x\n");
  agent::RunStats stats;
  const Status st = rig.run(stats);
  EXPECT_FALSE(st.isOk());
  EXPECT_NE(st.message().find("montant"), std::string::npos) << st.message();
  EXPECT_EQ(rig.files(), std::vector<std::string>{"c.csv"});
}

}  // namespace
}  // namespace exportsync::testing::plugins
