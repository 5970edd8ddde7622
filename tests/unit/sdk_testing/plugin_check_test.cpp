// exportsync-plugin-check, the built binary: exit 0 with a description for a good plugin, exit 1
// with one "problem:" line per problem for every kind of bad plugin, exit 2 for bad usage.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;

const std::string kTool = ES_PLUGIN_CHECK;
const std::string kTestPlugins = ES_TEST_PLUGIN_DIR;
const std::string kProbes = ES_SDK_TESTING_PLUGIN_DIR;
const std::string kExampleSample = ES_SOURCE_DIR "/config/samples/example/articles-2024.csv";

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    out.push_back(line);
  }
  return out;
}

class PluginCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/es-plugin-check-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Runs the tool with `args` (no spaces or quotes in them).
  Outcome check(const std::vector<std::string>& args) const {
    std::string cmd = kTool;
    for (const auto& a : args) {
      cmd += " " + a;
    }
    cmd += " >" + dir_ + "/out 2>" + dir_ + "/err";
    const int status = std::system(cmd.c_str());
    Outcome o;
    o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    o.out = readFile(dir_ + "/out");
    o.err = readFile(dir_ + "/err");
    return o;
  }

  std::string dir_;
};

TEST_F(PluginCheckTest, AGoodPluginPassesAndIsDescribed) {
  const auto o = check({kTestPlugins + "/good_a.so"});
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(o.err, "");
  EXPECT_THAT(o.out, HasSubstr("plugin      good-a 1.0.0: Test plugin that works\n"));
  EXPECT_THAT(o.out, HasSubstr("ABI         1.0, descriptor 80 bytes"));
  EXPECT_THAT(o.out, HasSubstr("datasets    1 declared, declare() repeatable\n"));
  EXPECT_THAT(o.out, HasSubstr("  rows v1 (3 columns, key id)\n"));
  EXPECT_THAT(o.out, HasSubstr("    id                      integer   key\n"));
  EXPECT_THAT(o.out, HasSubstr("OK: good-a passed every check\n"));
  EXPECT_THAT(o.out, Not(HasSubstr("run ")));  // no collect without --sample or --run
}

TEST_F(PluginCheckTest, RunShowsRowsAndHonoursConfigAndRegion) {
  const auto o = check({kTestPlugins + "/good_a.so", "--run", "--config", "rows=3", "--region",
                        "MA-12", "--rows", "1"});
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_THAT(o.out, HasSubstr("run         region MA-12; config: rows=3\n"));
  EXPECT_THAT(o.out, HasSubstr("collect run ok: 3 upserted, 0 removed, 0 rejected"));
  EXPECT_THAT(o.out, HasSubstr("  rows: 3 rows\n    id=0, note=good-a, region=MA-12\n    ...\n"));
}

TEST_F(PluginCheckTest, ASampleGoesThroughTheInboxWithRejectionsShown) {
  const auto o =
      check({ES_PLUGIN_DIR "/example.so", "--sample", kExampleSample, "--config", "rows=0"});
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_THAT(o.out, HasSubstr("  sample    " + kExampleSample + "\n"));
  EXPECT_THAT(o.out, HasSubstr("  items: 5 rows\n"));
  EXPECT_THAT(o.out, HasSubstr("  rejected  articles-2024.csv:6 column 'price' value '1 250,00': "
                               "not an amount like 12,50\n"));
  EXPECT_THAT(o.out, HasSubstr("/inbox/done/articles-2024.csv\n"));
  EXPECT_THAT(o.out, HasSubstr("OK: example passed every check"));
}

struct Bad {
  const char* name;
  std::vector<std::string> args;
  const char* problem;  // a fragment of the one problem line
};
void PrintTo(const Bad& b, std::ostream* os) { *os << b.name; }

class PluginCheckProblemTest : public PluginCheckTest, public ::testing::WithParamInterface<Bad> {};

TEST_P(PluginCheckProblemTest, ExitsOneWithOneLinePerProblem) {
  const auto o = check(GetParam().args);
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  ASSERT_THAT(lines(o.err), SizeIs(1)) << o.err;
  EXPECT_THAT(o.err, AllOf(StartsWith("problem: "), HasSubstr(GetParam().problem)));
  EXPECT_THAT(o.out, HasSubstr("FAILED: "));
  EXPECT_THAT(o.out, Not(HasSubstr("OK: ")));
}

INSTANTIATE_TEST_SUITE_P(
    Plugins, PluginCheckProblemTest,
    ::testing::Values(
        Bad{"NotASharedLibrary", {kTestPlugins + "/notaplugin.so"}, "not a shared library"},
        Bad{"NoEntrySymbol", {kTestPlugins + "/no_entry.so"}, "no entry symbol"},
        Bad{"WrongAbi", {kTestPlugins + "/bad_abi.so"}, "built for ABI 99.0"},
        Bad{"DescriptorTooSmall",
            {kTestPlugins + "/short_descriptor.so"},
            "descriptor is 16 bytes, ABI 1 needs at least 80"},
        Bad{"DeclareFails",
            {kTestPlugins + "/declare_fails.so"},
            "plugin 'declare-fails': declare() failed: declare-fails: cannot build the schema"},
        Bad{"InvalidDataset",
            {kProbes + "/probe_no_key.so"},
            "dataset 'things': declares no key column"},
        Bad{"UnstableDeclare",
            {kProbes + "/probe_unstable.so"},
            "declare() gave another answer the second time"},
        Bad{"FakeCoreDataset",
            {kProbes + "/probe_fake_core.so"},
            "dataset 'exporters' is a core dataset but is not declared as the SDK declares it"},
        Bad{"CollectFails",
            {kTestPlugins + "/thrower.so", "--run"},
            "plugin 'thrower' run: collect() failed: unhandled exception: thrower: deliberate"},
        Bad{"ConfigureFails",
            {kTestPlugins + "/good_a.so", "--run", "--config", "rows=-1"},
            "configure() failed: config key 'plugin.good-a.rows': -1 is out of range"},
        Bad{"NothingFromTheSample",
            {kProbes + "/probe.so", "--sample", kExampleSample, "--config", "rows=0"},
            "plugin 'probe' wrote no row from the sample file(s)"}),
    [](const ::testing::TestParamInfo<Bad>& p) { return std::string(p.param.name); });

struct Usage {
  const char* name;
  std::vector<std::string> args;
  const char* message;
};
void PrintTo(const Usage& u, std::ostream* os) { *os << u.name; }

class PluginCheckUsageTest : public PluginCheckTest, public ::testing::WithParamInterface<Usage> {};

TEST_P(PluginCheckUsageTest, ExitsTwo) {
  const auto o = check(GetParam().args);
  EXPECT_EQ(o.exit_code, 2) << o.out << o.err;
  EXPECT_THAT(o.err, AllOf(StartsWith("exportsync-plugin-check: "), HasSubstr(GetParam().message),
                           HasSubstr("--help")));
  EXPECT_EQ(o.out, "");
}

INSTANTIATE_TEST_SUITE_P(
    Arguments, PluginCheckUsageTest,
    ::testing::Values(
        Usage{"NoPlugin", {}, "give the plugin's .so file"},
        Usage{"UnknownOption", {"x.so", "--frobnicate"}, "unknown option '--frobnicate'"},
        Usage{"MissingSample", {"x.so", "--sample", "/nonexistent.csv"}, "no such readable file"},
        Usage{"ConfigWithoutEquals", {"x.so", "--config", "inbox"}, "write KEY=VALUE"},
        Usage{"TwoPlugins", {"a.so", "b.so"}, "one plugin file at a time"},
        Usage{"BadRows", {"x.so", "--rows", "lots"}, "--rows 'lots'"}),
    [](const ::testing::TestParamInfo<Usage>& p) { return std::string(p.param.name); });

TEST_F(PluginCheckTest, HelpExitsZero) {
  const auto o = check({"--help"});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_THAT(o.out, AllOf(HasSubstr("usage: exportsync-plugin-check PLUGIN.so"),
                           HasSubstr("Exit status: 0")));
}

}  // namespace
