#include "app/config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>

namespace mladmin::app {

namespace {

class ConfigFileTest : public ::testing::Test {
 protected:
  std::string write(const std::string& text) {
    path_ =
        std::filesystem::temp_directory_path() / ("mladmin-config-" + std::to_string(::getpid()) + ".toml");
    std::ofstream(path_) << text;
    return path_.string();
  }
  void TearDown() override { std::filesystem::remove(path_); }
  /// Each of `lines` ("key = value") alone in `section` is refused with an error that names
  /// `section.key`.
  void expect_each_refused_naming(const std::string& section, std::initializer_list<const char*> lines);
  std::filesystem::path path_;
};

std::string load_error(const std::string& path) {
  Config c;
  try {
    load_config_file(path, c);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

void ConfigFileTest::expect_each_refused_naming(const std::string& section,
                                                std::initializer_list<const char*> lines) {
  for (const std::string bad : lines) {
    const auto error = load_error(write("[" + section + "]\n" + bad + "\n"));
    EXPECT_NE(error.find(section + "." + bad.substr(0, bad.find(' '))), std::string::npos)
        << bad << ": " << error;
  }
}

}  // namespace

TEST_F(ConfigFileTest, ReadsEveryDocumentedSection) {
  Config c;
  load_config_file(write(R"(
[server]
listen = "0.0.0.0:9000"
handler_threads = 8
max_body_bytes = 2048
import_max_bytes = 65536
[database]
url = "sqlite:///tmp/x.db"
cache_mib = 256
[auth]
token_ttl_seconds = 3600
login_failures_per_email = 3
[log]
level = "debug"
[sync]
workers = 2
retention_days = 30
)"),
                   c);
  EXPECT_EQ(c.server.host, "0.0.0.0");
  EXPECT_EQ(c.server.port, 9000);
  EXPECT_EQ(c.server.handler_threads, 8u);
  EXPECT_EQ(c.server.max_body_bytes, 2048u);
  EXPECT_EQ(c.import_max_bytes, 65536u);
  EXPECT_EQ(c.database_url, "sqlite:///tmp/x.db");
  EXPECT_EQ(c.database_cache_mib, 256u);
  EXPECT_EQ(c.token_ttl_seconds, 3600);
  EXPECT_EQ(c.login_limits.per_email, 3);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.sync_workers, 2u);
  EXPECT_EQ(c.job_retention_days, 30);
}

TEST_F(ConfigFileTest, JobRetentionDefaultsTo90DaysAndZeroKeepsEverything) {
  EXPECT_EQ(Config{}.job_retention_days, 90);
  Config c;
  load_config_file(write("[sync]\nretention_days = 0\n"), c);
  EXPECT_EQ(c.job_retention_days, 0);
}

TEST_F(ConfigFileTest, NegativeOrAbsurdRetentionIsRefusedByName) {
  expect_each_refused_naming("sync", {"retention_days = -1", "retention_days = 36501",
                                      "retention_days = \"90\"", "retention_days = 1.5"});
}

TEST_F(ConfigFileTest, WriterCacheDefaultsTo64MibAndAbsurdSizesAreRefusedByName) {
  EXPECT_EQ(Config{}.database_cache_mib, 64u);
  expect_each_refused_naming("database",
                             {"cache_mib = 0", "cache_mib = 65537", "cache_mib = \"64\"", "cache_mib = -1"});
}

TEST_F(ConfigFileTest, SyncNiceDefaultsTo10ZeroTurnsItOffAndOtherValuesAreRefusedByName) {
  EXPECT_EQ(Config{}.sync_nice, 10);
  Config c;
  load_config_file(write("[sync]\nnice = 0\n"), c);
  EXPECT_EQ(c.sync_nice, 0);
  load_config_file(write("[sync]\nnice = 19\n"), c);
  EXPECT_EQ(c.sync_nice, 19);
  expect_each_refused_naming("sync", {"nice = -1", "nice = 20", "nice = \"10\"", "nice = 2.5"});
}

TEST_F(ConfigFileTest, UnknownKeyIsRefusedByName) {
  EXPECT_NE(load_error(write("[server]\nlisten_port = 1\n")).find("server.listen_port"), std::string::npos);
  EXPECT_NE(load_error(write("[servre]\n")).find("unknown section"), std::string::npos);
}

TEST_F(ConfigFileTest, WrongTypeAndRangeAreRefused) {
  EXPECT_NE(load_error(write("[server]\nhandler_threads = \"8\"\n")).find("must be an integer"),
            std::string::npos);
  EXPECT_NE(load_error(write("[server]\nhandler_threads = 0\n")).find("between"), std::string::npos);
  EXPECT_NE(load_error(write("[log]\nlevel = \"loud\"\n")).find("log.level"), std::string::npos);
}

TEST_F(ConfigFileTest, ReadsTheMlServiceSection) {
  const Config defaults;
  EXPECT_TRUE(defaults.ml_service.url.empty());
  EXPECT_EQ(defaults.ml_service.batch_items, 500u);
  EXPECT_EQ(defaults.ml_service.max_in_flight, 4u);
  EXPECT_EQ(defaults.ml_service.timeout_ms, 10000);
  EXPECT_EQ(defaults.ml_service.max_attempts, 8);
  Config c;
  load_config_file(write(R"([ml_service]
url = "https://ml.internal:8443/mladmin"
token = "from-file"
batch_items = 5000
max_in_flight = 2
timeout_ms = 2500
max_attempts = 3
requests_per_second = 2.5
)"),
                   c);
  EXPECT_EQ(c.ml_service.url, "https://ml.internal:8443/mladmin");
  EXPECT_EQ(c.ml_service.token, "from-file");
  EXPECT_EQ(c.ml_service.batch_items, 5000u);
  EXPECT_EQ(c.ml_service.max_in_flight, 2u);
  EXPECT_EQ(c.ml_service.timeout_ms, 2500);
  EXPECT_EQ(c.ml_service.max_attempts, 3);
  EXPECT_DOUBLE_EQ(c.ml_service.requests_per_second, 2.5);
  ::setenv("MLADMIN_ML_SERVICE_TOKEN", "from-env", 1);
  apply_environment(c);
  ::unsetenv("MLADMIN_ML_SERVICE_TOKEN");
  EXPECT_EQ(c.ml_service.token, "from-env");
  EXPECT_NO_THROW(validate(c));
}

TEST_F(ConfigFileTest, BadMlServiceValuesAreRefusedByName) {
  expect_each_refused_naming("ml_service", {"batch_items = 0", "batch_items = 5001", "max_in_flight = 0",
                                            "timeout_ms = 10", "max_attempts = 0", "requests_per_second = -1",
                                            "requests_per_second = \"5\"", "url = 8"});
}

TEST(ValidateTest, MlServiceUrlAndCaFileAreChecked) {
  Config c;
  c.ml_service.url = "ftp://ml.internal/";
  EXPECT_THROW(validate(c), std::runtime_error);
  c.ml_service.url = "ml.internal:8000";
  EXPECT_THROW(validate(c), std::runtime_error);
  c.ml_service.url = "http://ml.internal:8000/base";
  EXPECT_NO_THROW(validate(c));
  c.ml_service.ca_file = "/nonexistent/ca.pem";
  try {
    validate(c);
    FAIL() << "a missing ca_file was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("ca_file"), std::string::npos);
  }
}

TEST_F(ConfigFileTest, SyntaxErrorNamesTheLine) {
  EXPECT_NE(load_error(write("[server]\nlisten = \n")).find(":2:"), std::string::npos);
}

// Found by fuzz_config (docs/fuzzing.md): toml++ 3.3 reaches a debug assertion and an
// "unreachable" on these; Debian's library must still report them as syntax errors with the line.
TEST_F(ConfigFileTest, StrayCharactersInKeysAndWhitespaceAreSyntaxErrors) {
  EXPECT_NE(load_error(write("[|server\n")).find(":1:2: "), std::string::npos);
  EXPECT_NE(load_error(write("[server]\nio_threads \xC3\x94 2\n")).find(":2:12: "), std::string::npos);
  EXPECT_NE(load_error(write("[server]\nio_threads = 2 \xC3\xA9\n")).find(":2:16: "), std::string::npos);
}

TEST(ListenTest, ParsesHostPortAndIpv6) {
  Config c;
  set_listen(c, "[::1]:0");
  EXPECT_EQ(c.server.host, "::1");
  EXPECT_EQ(c.server.port, 0);
  EXPECT_THROW(set_listen(c, "localhost"), std::runtime_error);
  EXPECT_THROW(set_listen(c, "127.0.0.1:70000"), std::runtime_error);
  EXPECT_THROW(set_listen(c, "127.0.0.1:80x"), std::runtime_error);
}

TEST(ValidateTest, ShortJwtSecretIsRefusedWithTheReason) {
  Config c;
  c.jwt_secret = std::string(31, 'x');
  try {
    validate(c);
    FAIL() << "a 31-byte secret was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("at least 32 bytes"), std::string::npos);
  }
  c.jwt_secret = std::string(32, 'x');
  EXPECT_NO_THROW(validate(c));
}

}  // namespace mladmin::app
