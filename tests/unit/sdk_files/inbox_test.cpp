// The inbox helper against a fake agent (fake_host.hpp) that commits or rolls back like the real
// one, on real folders.
#include "exportsync/files/inbox.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "fake_host.hpp"
#include "files_test_util.hpp"

namespace exportsync::files {
namespace {

using testing::FakeHost;
using testing::readFile;
using testing::TempDir;
using testing::writeFile;
using testing::XlsxBuilder;

namespace fs = std::filesystem;

constexpr char kRefusedIce[] = "000000000000000";

// What a regional plugin's handler looks like.
struct Importer {
  std::vector<std::string> seen;  // file names, in call order

  Status operator()(InboxFile& file) {
    seen.push_back(file.name());
    auto cols = Columns::resolve(file.header(), {"ICE", "Raison sociale"}, {"Ville"});
    if (!cols) {
      return cols.status();
    }
    for (const auto& rec : file.records()) {
      const std::string& ice = cols->get(rec, "ICE");
      if (ice.size() != 15 || ice.find_first_not_of("0123456789") != std::string::npos) {
        file.reject(rec, "ICE", ice, "an ICE has 15 digits");
        continue;
      }
      const std::string& city = cols->get(rec, "Ville");
      (void)file.upsert(rec, "exporters",
                        Row{{"ice", ice},
                            {"name", cols->get(rec, "Raison sociale")},
                            {"city", city.empty() ? Value() : Value(city)}});
    }
    return Status::ok();
  }
};

class InboxTest : public ::testing::Test {
 protected:
  InboxTest() {
    host_.refuse_key = kRefusedIce;
    options_.folder = dir_.path();
    options_.config_key = "plugin.souss.inbox";
  }

  Result<InboxStats> run() {
    return processInbox(host_.context(), options_, [this](InboxFile& f) { return importer_(f); });
  }
  std::string in(const std::string& name) const { return dir_ / name; }
  bool present(const std::string& rel) const { return fs::exists(dir_ / rel); }

  TempDir dir_;
  FakeHost host_;
  InboxOptions options_;
  Importer importer_;
};

const char kVentes[] =
    "\xEF\xBB\xBF"
    "ICE;Raison sociale;Ville\r\n"
    "001234567000089;Coopérative Argane;Agadir\r\n"            // 2: accepted
    "12345;Atlas;Rabat\r\n"                                    // 3: rejected by the plugin
    "001234567000090;\"Sté \"\"Rif\"\"\r\nExport\";Nador\r\n"  // 4-5: accepted
    "001234567000091;Sahara\r\n"                               // 6: wrong field count
    "000000000000000;Refusé;Fès\r\n"                           // 7: refused by the store
    "=HYPERLINK(\"http://x\");Piège;Oujda\r\n";                // 8: rejected, formula-like value

TEST_F(InboxTest, HandsAFileOverOnceCommitsRowsAndReportsRejectedRows) {
  writeFile(in("ventes.csv"), kVentes);
  auto stats = run();
  ASSERT_TRUE(stats) << stats.status().message();
  EXPECT_EQ(stats->files, 1U);
  EXPECT_EQ(stats->files_done, 1U);
  EXPECT_EQ(stats->files_rejected, 0U);
  EXPECT_EQ(stats->rows_accepted, 2U);
  EXPECT_EQ(stats->rows_rejected, 4U);

  // Before the commit nothing has moved; the report waits hidden in rejected/.
  EXPECT_TRUE(present("ventes.csv"));
  EXPECT_FALSE(present("rejected/ventes.csv.errors.csv"));
  EXPECT_TRUE(present("rejected/.ventes.csv.errors.csv.tmp"));
  ASSERT_EQ(host_.rejections.size(), 4U);  // each one reported to the run as well
  EXPECT_EQ(host_.rejections[0].source, "ventes.csv");

  host_.commit();
  EXPECT_FALSE(present("ventes.csv"));
  EXPECT_EQ(readFile(dir_ / "done/ventes.csv"), kVentes);
  EXPECT_FALSE(present("rejected/.ventes.csv.errors.csv.tmp"));
  EXPECT_TRUE(host_.failed_renames.empty());
  ASSERT_EQ(host_.rows.size(), 2U);
  EXPECT_EQ(host_.rows.count("001234567000089"), 1U);
  EXPECT_EQ(std::get<std::string>(host_.rows["001234567000090"][1].storage()),
            "Sté \"Rif\"\r\nExport");
  EXPECT_EQ(host_.state.count("inbox." + sha256Hex(kVentes)), 1U);

  const std::string errors = readFile(dir_ / "rejected/ventes.csv.errors.csv");
  EXPECT_EQ(errors,
            "\xEF\xBB\xBF"
            "line;column;value;reason\r\n"
            "3;ICE;12345;an ICE has 15 digits\r\n"
            "6;;001234567000091 | Sahara;\"has 2 fields, the header (line 1) has 3; a value may "
            "contain the separator ';' without quotes, or a separator is missing\"\r\n"
            "7;;;dataset 'exporters': column 'ice' refused by the store\r\n"
            "8;ICE;\"'=HYPERLINK(\"\"http://x\"\")\";an ICE has 15 digits\r\n");
}

TEST_F(InboxTest, SameContentIsNotHandedOverTwice) {
  writeFile(in("ventes.csv"), kVentes);
  ASSERT_TRUE(run());
  host_.commit();
  ASSERT_EQ(importer_.seen.size(), 1U);
  host_.rows.clear();

  // The office drops the same export again, under its old name and under a new one.
  writeFile(in("ventes.csv"), kVentes);
  writeFile(in("ventes-copie.csv"), kVentes);
  auto stats = run();
  ASSERT_TRUE(stats) << stats.status().message();
  EXPECT_EQ(stats->files, 0U);
  EXPECT_EQ(stats->files_skipped, 2U);
  host_.commit();
  EXPECT_EQ(importer_.seen.size(), 1U);
  EXPECT_TRUE(host_.rows.empty());
  EXPECT_FALSE(present("ventes.csv"));
  EXPECT_FALSE(present("ventes-copie.csv"));
  // The name taken in done/ gets a suffix; nothing is overwritten.
  EXPECT_TRUE(present("done/ventes.csv"));
  EXPECT_TRUE(present("done/ventes (2).csv"));
  EXPECT_TRUE(present("done/ventes-copie.csv"));
}

TEST_F(InboxTest, TwoCopiesInOneRunAreHandedOverOnce) {
  writeFile(in("a.csv"), kVentes);
  writeFile(in("b.csv"), kVentes);
  auto stats = run();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->files_done, 1U);
  EXPECT_EQ(stats->files_skipped, 1U);
  EXPECT_EQ(importer_.seen, (std::vector<std::string>{"a.csv"}));
}

TEST_F(InboxTest, ARolledBackRunHandsTheFileOverAgain) {
  writeFile(in("ventes.csv"), kVentes);
  ASSERT_TRUE(run());
  host_.rollback();  // e.g. the agent stopped, or a later step of collect failed
  EXPECT_TRUE(present("ventes.csv"));
  EXPECT_TRUE(host_.state.empty());
  EXPECT_TRUE(host_.rows.empty());

  auto stats = run();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->files_done, 1U);
  host_.commit();
  EXPECT_EQ(importer_.seen.size(), 2U);
  EXPECT_EQ(host_.rows.size(), 2U);
  EXPECT_TRUE(present("done/ventes.csv"));
  EXPECT_TRUE(present("rejected/ventes.csv.errors.csv"));
  EXPECT_FALSE(present("rejected/.ventes.csv.errors.csv.tmp"));
}

TEST_F(InboxTest, FilesWithoutAUsableRowGoToRejectedWholeWithAReason) {
  writeFile(in("sans-ice.csv"), "Nom;Raison sociale\r\nA;B\r\n");
  writeFile(in("vide.csv"), "ICE;Raison sociale\r\n\r\n");
  writeFile(in("tout-faux.csv"), "ICE;Raison sociale\r\n1;A\r\n2;B\r\n");
  writeFile(in("casse.xlsx"), "ICE;Raison sociale\r\n");
  writeFile(in("latin1.csv"), "ICE;Raison sociale\r\n001234567000089;Caf\xE9\r\n");
  auto stats = run();
  ASSERT_TRUE(stats) << stats.status().message();
  EXPECT_EQ(stats->files, 5U);
  EXPECT_EQ(stats->files_rejected, 5U);
  EXPECT_EQ(stats->files_done, 0U);
  EXPECT_EQ(stats->rows_rejected, 2U);
  host_.commit();

  for (const char* name :
       {"sans-ice.csv", "vide.csv", "tout-faux.csv", "casse.xlsx", "latin1.csv"}) {
    EXPECT_FALSE(present(name)) << name;
    EXPECT_TRUE(present(std::string("rejected/") + name)) << name;
    EXPECT_TRUE(present(std::string("rejected/") + name + ".reason.txt")) << name;
  }
  auto reason = [&](const std::string& name) {
    return readFile(dir_ / ("rejected/" + name + ".reason.txt"));
  };
  EXPECT_EQ(reason("sans-ice.csv").rfind("\xEF\xBB\xBF", 0), 0U);
  EXPECT_NE(reason("sans-ice.csv").find("required column 'ICE' is missing"), std::string::npos);
  EXPECT_NE(reason("vide.csv").find("no data rows"), std::string::npos);
  EXPECT_NE(reason("tout-faux.csv").find("all 2 rows of 'tout-faux.csv' were rejected"),
            std::string::npos);
  EXPECT_TRUE(present("rejected/tout-faux.csv.errors.csv"));
  EXPECT_NE(reason("casse.xlsx").find("not an .xlsx workbook"), std::string::npos);
  EXPECT_NE(reason("latin1.csv").find("line 2"), std::string::npos);
  EXPECT_NE(reason("latin1.csv").find("windows-1252"), std::string::npos);
  EXPECT_TRUE(host_.state.empty());  // refused content is not remembered: a fixed file retries
  EXPECT_TRUE(host_.rows.empty());
  size_t file_level = 0;
  for (const auto& r : host_.rejections) {
    file_level += r.line == 0 ? 1 : 0;
  }
  EXPECT_EQ(file_level, 5U);
}

TEST_F(InboxTest, NameClashesInRejectedGetASuffixAndNothingIsOverwritten) {
  ASSERT_EQ(::mkdir((dir_ / "rejected").c_str(), 0750), 0);
  writeFile(dir_ / "rejected/sans-ice.csv", "yesterday's file");
  writeFile(dir_ / "rejected/sans-ice.csv.reason.txt", "yesterday's reason");
  writeFile(in("sans-ice.csv"), "Nom;Raison sociale\r\nA;B\r\n");
  ASSERT_TRUE(run());
  host_.commit();
  EXPECT_EQ(readFile(dir_ / "rejected/sans-ice.csv"), "yesterday's file");
  EXPECT_EQ(readFile(dir_ / "rejected/sans-ice.csv.reason.txt"), "yesterday's reason");
  EXPECT_EQ(readFile(dir_ / "rejected/sans-ice (2).csv"), "Nom;Raison sociale\r\nA;B\r\n");
  EXPECT_TRUE(present("rejected/sans-ice (2).csv.reason.txt"));
}

TEST_F(InboxTest, TakesMatchingRegularFilesInNameOrderOnly) {
  const std::string good = "ICE;Raison sociale\r\n001234567000089;A\r\n";
  writeFile(in("b.csv"), good);
  writeFile(in("A.csv"), "ICE;Raison sociale\r\n001234567000090;B\r\n");
  writeFile(in("C.CSV"), "ICE;Raison sociale\r\n001234567000091;C\r\n");
  writeFile(in(".cache.csv"), good);
  writeFile(in("~$classeur.xlsx"), good);
  writeFile(in("notes.pdf"), good);
  writeFile(in("envoi.csv.part"), good);
  fs::create_directory(dir_ / "archive.csv");
  writeFile(dir_ / "archive.csv/old.csv", good);
  fs::create_symlink(dir_ / "b.csv", dir_ / "lien.csv");
  auto stats = run();
  ASSERT_TRUE(stats) << stats.status().message();
  EXPECT_EQ(importer_.seen, (std::vector<std::string>{"A.csv", "C.CSV", "b.csv"}));
  host_.commit();
  EXPECT_TRUE(present(".cache.csv"));
  EXPECT_TRUE(present("~$classeur.xlsx"));
  EXPECT_TRUE(present("notes.pdf"));
  EXPECT_TRUE(present("envoi.csv.part"));
  EXPECT_TRUE(present("archive.csv/old.csv"));
  EXPECT_TRUE(fs::is_symlink(dir_ / "lien.csv"));

  EXPECT_TRUE(isInboxCandidate("Ventes.XLSX", {"*.csv", "*.xlsx"}));
  EXPECT_FALSE(isInboxCandidate("~$Ventes.xlsx", {"*.xlsx"}));
  EXPECT_FALSE(isInboxCandidate("ventes.tmp", {"*"}));
  EXPECT_FALSE(isInboxCandidate("ventes.txt", {"*.csv", "*.xlsx"}));
  EXPECT_TRUE(isInboxCandidate("ventes.txt", {"*.txt"}));
}

TEST_F(InboxTest, ReadsXlsxFilesToo) {
  writeFile(in("exportateurs.xlsx"),
            XlsxBuilder()
                .sharedStrings({"<t>ICE</t>", "<t>Raison sociale</t>", "<t>Ville</t>"})
                .sheet("S",
                       "<row r=\"1\"><c t=\"s\"><v>0</v></c><c t=\"s\"><v>1</v></c>"
                       "<c t=\"s\"><v>2</v></c></row>"
                       "<row r=\"4\"><c t=\"inlineStr\"><is><t>001234567000089</t></is></c>"
                       "<c t=\"inlineStr\"><is><t>Atlas</t></is></c></row>"
                       "<row r=\"5\"><c><v>42</v></c><c t=\"inlineStr\"><is><t>Rif</t></is>"
                       "</c></row>")
                .build());
  auto stats = run();
  ASSERT_TRUE(stats) << stats.status().message();
  EXPECT_EQ(stats->rows_accepted, 1U);
  EXPECT_EQ(stats->rows_rejected, 1U);
  host_.commit();
  EXPECT_TRUE(present("done/exportateurs.xlsx"));
  EXPECT_EQ(readFile(dir_ / "rejected/exportateurs.xlsx.errors.csv"),
            "\xEF\xBB\xBFline;column;value;reason\r\n5;ICE;42;an ICE has 15 digits\r\n");
}

TEST_F(InboxTest, CreatesDoneAndRejectedWithMode0750) {
  const mode_t old = ::umask(077);
  writeFile(in("ventes.csv"), kVentes);
  auto stats = run();
  ::umask(old);
  ASSERT_TRUE(stats);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "done").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750U);
  ASSERT_EQ(::stat((dir_ / "rejected").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750U);
}

TEST_F(InboxTest, FolderErrorsNameTheFolderAndTheConfigKey) {
  options_.folder = dir_ / "absent";
  auto stats = run();
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.status().code(), Code::Config);
  EXPECT_NE(
      stats.status().message().find("inbox folder '" + dir_ / "absent" + "' cannot be opened"),
      std::string::npos)
      << stats.status().message();
  EXPECT_NE(stats.status().message().find("config key 'plugin.souss.inbox'"), std::string::npos);

  options_.folder = "inbox/relative";
  stats = run();
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.status().code(), Code::Config);
  EXPECT_NE(stats.status().message().find("not an absolute path"), std::string::npos);
}

TEST_F(InboxTest, HandlerRefusingAfterWritingFailsTheRun) {
  writeFile(in("ventes.csv"), kVentes);
  auto stats = processInbox(host_.context(), options_, [](InboxFile& file) {
    (void)file.upsert(file.records()[0], "exporters",
                      Row{{"ice", "001234567000089"}, {"name", "A"}});
    return Status::invalid("changed my mind");
  });
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.status().code(), Code::Internal);
  EXPECT_NE(stats.status().message().find("after writing 1 rows"), std::string::npos);
}

TEST_F(InboxTest, StopsWhenCancelled) {
  writeFile(in("ventes.csv"), kVentes);
  host_.cancel = true;
  auto stats = run();
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.status().code(), Code::Cancelled);
  EXPECT_TRUE(importer_.seen.empty());
}

// FIPS 180-2 test vectors: the fingerprints of files already imported are stored in the plugin
// state, so the digest must never change with its implementation.
TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256Hex(std::string(1'000'000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

}  // namespace
}  // namespace exportsync::files
