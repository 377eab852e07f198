#include "app/cli.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include "accounts/accounts.hpp"
#include "app/app.hpp"
#include "app/config.hpp"
#include "app/ml_service_command.hpp"
#include "app/remote_commands.hpp"
#include "app/seed_demo.hpp"
#include "auth/hasher.hpp"
#include "domain/clock.hpp"
#include "domain/error.hpp"
#include "domain/ids.hpp"
#include "sources/import.hpp"

namespace mladmin::app {

namespace {

struct CommonFlags {
  std::string config_file;
  std::string listen;
  std::string database;
  std::size_t workers = 0;
};

/// Defaults < config file < environment < flags.
Config resolve(const CommonFlags& flags) {
  Config c;
  std::string file = flags.config_file;
  if (file.empty()) {
    if (const char* env = std::getenv("MLADMIN_CONFIG"); env != nullptr) {
      file = env;
    }
  }
  if (!file.empty()) {
    load_config_file(file, c);
  }
  apply_environment(c);
  if (!flags.listen.empty()) {
    set_listen(c, flags.listen);
  }
  if (!flags.database.empty()) {
    c.database_url = flags.database;
  }
  if (flags.workers > 0) {
    c.sync_workers = flags.workers;
  }
  return c;
}

/// The tools the user commands need, built on the configured database.
struct UserTools {
  explicit UserTools(const Config& c)
      : store(open_and_migrate(c)), ids(clock), hasher(1, 4), accounts(*store, hasher, clock, ids, {}) {}
  std::unique_ptr<store::Store> store;
  domain::SystemClock clock;
  domain::UuidV7Generator ids;
  auth::PasswordHasher hasher;
  accounts::Accounts accounts;
};

const accounts::Actor kCli{std::nullopt, "cli"};

std::string find_user_id(store::Store& s, const std::string& email_or_id) {
  auto user = s.read_value([&](store::Reader& r) {
    auto u = r.find_user(email_or_id);
    return u ? u : r.find_user_by_email(domain::normalize_email(email_or_id));
  });
  if (!user) {
    throw domain::not_found("user '" + email_or_id + "'");
  }
  return user->id;
}

domain::Role parse_role_or_throw(const std::string& text) {
  auto role = domain::parse_role(text);
  if (!role) {
    throw domain::field_error("role", "must be one of user, ml_admin, admin");
  }
  return *role;
}

void print_user(const domain::User& u) {
  std::cout << u.id << "  " << u.email << "  " << domain::to_string(u.role) << "  "
            << domain::to_string(u.status) << "  " << u.name << "\n";
}

/// The setting `mladmin demo` leaves in its database, so that a later `demo` knows the file is
/// its own to recreate.
constexpr const char* kDemoMarker = "demo_database";

/// True when `path` is an SQLite database that `mladmin demo` made (it holds the marker).
bool is_demo_database(const std::string& path) {
  sqlite3* db = nullptr;
  bool demo = false;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    const std::string sql = std::string("SELECT 1 FROM settings WHERE key = '") + kDemoMarker + "'";
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK) {
      demo = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return demo;
}

int run_demo(const CommonFlags& flags, bool force) {
  CommonFlags f = flags;
  if (f.listen.empty()) {
    f.listen = "127.0.0.1:8080";
  }
  if (f.database.empty()) {
    f.database = "sqlite://./mladmin-demo.db";
  }
  Config c = resolve(f);
  const std::string prefix = "sqlite://";
  if (c.database_url.rfind(prefix, 0) != 0) {
    throw std::runtime_error("demo runs on a fresh SQLite file; give --database sqlite:///path/demo.db");
  }
  const std::string path = c.database_url.substr(prefix.size());
  std::error_code exists_ec;
  if (!force && std::filesystem::exists(path, exists_ec) && !is_demo_database(path)) {
    std::cerr << "mladmin: '" << path
              << "' exists and is not a demo database; demo recreates its database, so it refuses to delete "
                 "this one. Give another --database, or --force to delete it.\n";
    return 1;
  }
  for (const char* suffix : {"", "-wal", "-shm", "-reserve", "-search", "-search-wal", "-search-shm"}) {
    std::filesystem::remove(path + suffix);
  }
  struct DemoUser {
    const char* email;
    const char* name;
    domain::Role role;
  };
  const DemoUser users[] = {{"admin@example.com", "Ada Admin", domain::Role::admin},
                            {"ml@example.com", "Milo ML", domain::Role::ml_admin},
                            {"ana@example.com", "Ana Writer", domain::Role::user},
                            {"ben@example.com", "Ben Planner", domain::Role::user}};
  std::vector<std::pair<std::string, std::string>> logins;
  SeedResult seeded;
  {
    UserTools tools(c);
    for (const auto& u : users) {
      const std::string password = random_password();
      tools.accounts.create({u.email, u.name, password, u.role, domain::UserStatus::active}, kCli);
      logins.emplace_back(u.email, password);
    }
    SeedOptions seed;
    seed.users = 6;
    seed.entries_per_user = 500;
    seed.goals_per_user = 30;
    seeded = seed_demo(*tools.store, tools.accounts, tools.clock, tools.ids, seed);
    tools.store->write([](store::Writer& w) { w.put_setting_if_absent(kDemoMarker, "1"); });
  }
  return serve(c, [&](const std::string& url) {
    std::cout << "\nmladmin demo is serving on " << url << " (database " << path << ")\n";
    std::cout << "  admin login:    " << logins[0].first << "  password: " << logins[0].second << "\n";
    std::cout << "  ml_admin login: " << logins[1].first << "  password: " << logins[1].second << "\n";
    std::cout << "  user logins:    " << logins[2].first << ", " << logins[3].first
              << "  password: " << logins[2].second << " / " << logins[3].second << "\n";
    std::cout << "Try: curl -s -X POST " << url
              << "/api/auth/login -H 'Content-Type: application/json' -d '{\"email\":\"" << logins[0].first
              << "\",\"password\":\"" << logins[0].second << "\"}'\n"
              << "Demo data: " << seeded.entries << " journal entries and " << seeded.goals << " goals of "
              << seeded.emails.size() << " writers (" << seeded.emails.front() << " … password "
              << seeded.password << "), " << seeded.invalid << " of them invalid on purpose.\n"
              << "Stop with Ctrl-C." << std::endl;
  });
}

/// `mladmin import`: 0 when every line was imported, 2 when some lines failed (the others are
/// imported), 1 when the import could not run (unreadable file, database error).
int run_import(const Config& c, const std::string& type_text, const std::string& file) {
  const auto type = domain::parse_source_type(type_text);
  if (!type) {
    throw domain::field_error("type", "must be journal_entries or goals");
  }
  std::ifstream opened;
  if (file != "-") {
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec)) {
      std::cerr << "mladmin: cannot read '" << file << "': it is a directory\n";
      return 1;
    }
    opened.open(file, std::ios::binary);
    if (!opened) {
      std::cerr << "mladmin: cannot read '" << file << "': " << std::strerror(errno) << "\n";
      return 1;
    }
  }
  std::istream& in = file == "-" ? std::cin : opened;
  auto store = open_and_migrate(c);
  domain::SystemClock clock;
  domain::UuidV7Generator ids(clock);
  sources::ImportOptions options;
  options.on_error = [](const sources::LineError& e) {
    std::cerr << "line " << e.line << ": " << e.reason << "\n";
  };
  const auto r = sources::import_ndjson(in, *type, *store, clock, ids, options);
  std::cout << "imported " << r.imported << " of " << r.lines << " lines as " << domain::to_string(r.type)
            << " (" << r.created << " created, " << r.updated << " updated); " << r.failed << " failed\n";
  return r.failed > 0 ? 2 : 0;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App cli{"mladmin: the ML admin server of the journaling app"};
  cli.require_subcommand(1);
  CommonFlags flags;
  std::string log_level;
  cli.add_option("--log-level", log_level, "trace, debug, info, warn, error or off");
  cli.fallthrough();  // global options may follow the subcommand: `mladmin serve --log-level warn`

  auto* serve_cmd = cli.add_subcommand("serve", "Serve the API and the dashboard");
  serve_cmd->add_option("--config", flags.config_file, "TOML config file (or MLADMIN_CONFIG)");
  serve_cmd->add_option("--listen", flags.listen, "HOST:PORT (or MLADMIN_LISTEN); port 0 picks a free one");
  serve_cmd->add_option("--database", flags.database, "sqlite:///path/file.db (or MLADMIN_DATABASE_URL)");
  serve_cmd->add_option("--workers", flags.workers, "sync worker pool size")->check(CLI::Range(1, 256));

  auto* demo_cmd =
      cli.add_subcommand("demo", "Serve a fresh SQLite database with demo users; prints the logins");
  demo_cmd->add_option("--listen", flags.listen, "HOST:PORT, default 127.0.0.1:8080");
  demo_cmd->add_option("--database", flags.database, "default sqlite://./mladmin-demo.db (recreated)");
  bool demo_force = false;
  demo_cmd->add_flag("--force", demo_force, "delete --database even when it is not a demo database");

  SeedOptions seed_options;
  auto* seed_cmd = cli.add_subcommand("seed-demo", "Add demo users with journal entries and goals");
  seed_cmd->add_option("--database", flags.database, "database URL");
  seed_cmd->add_option("--users", seed_options.users, "demo users")->check(CLI::Range(1, 100000));
  seed_cmd->add_option("--entries-per-user", seed_options.entries_per_user, "journal entries per user")
      ->check(CLI::Range(0, 10000000));
  seed_cmd->add_option("--goals-per-user", seed_options.goals_per_user, "goals per user")
      ->check(CLI::Range(0, 10000000));
  seed_cmd->add_option("--invalid-ratio", seed_options.invalid_ratio, "share of records that fail validation")
      ->check(CLI::Range(0.0, 1.0));
  seed_cmd->add_option("--seed", seed_options.seed, "generator seed: the same seed gives the same content");

  std::string import_type;
  std::string import_file;
  auto* import_cmd = cli.add_subcommand(
      "import",
      "Load journal entries or goals from NDJSON (one JSON object per line); exit 2 if lines failed");
  import_cmd->add_option("--type", import_type, "journal_entries or goals")
      ->required()
      ->check(CLI::IsMember({"journal_entries", "goals"}));
  import_cmd->add_option("file", import_file, "the NDJSON file, or - for standard input")->required();
  import_cmd->add_option("--config", flags.config_file, "TOML config file");
  import_cmd->add_option("--database", flags.database, "database URL");

  auto* migrate_cmd = cli.add_subcommand("migrate", "Apply pending database migrations");
  migrate_cmd->add_option("--config", flags.config_file, "TOML config file");
  migrate_cmd->add_option("--database", flags.database, "database URL");

  auto* user_cmd = cli.add_subcommand("user", "Manage users on the configured database");
  user_cmd->require_subcommand(1);
  user_cmd->add_option("--config", flags.config_file, "TOML config file");
  user_cmd->add_option("--database", flags.database, "database URL");
  std::string email;
  std::string name;
  std::string role = "user";
  bool password_stdin = false;
  auto* add_cmd = user_cmd->add_subcommand("add", "Create a user (the way to create the first admin)");
  add_cmd->add_option("--email", email, "email")->required();
  add_cmd->add_option("--name", name, "display name")->required();
  add_cmd->add_option("--role", role, "user, ml_admin or admin");
  add_cmd->add_flag("--password-stdin", password_stdin, "read the password from the first line of stdin")
      ->required();
  for (auto* sub : {add_cmd}) {
    sub->add_option("--database", flags.database, "database URL");
  }
  auto* list_cmd = user_cmd->add_subcommand("list", "List users");
  list_cmd->add_option("--database", flags.database, "database URL");
  std::string who;
  auto* set_role_cmd = user_cmd->add_subcommand("set-role", "Change a user's role (revokes their tokens)");
  set_role_cmd->add_option("user", who, "email or id")->required();
  set_role_cmd->add_option("role", role, "user, ml_admin or admin")->required();
  set_role_cmd->add_option("--database", flags.database, "database URL");
  auto* disable_cmd = user_cmd->add_subcommand("disable", "Disable a user (revokes their tokens)");
  disable_cmd->add_option("user", who, "email or id")->required();
  disable_cmd->add_option("--database", flags.database, "database URL");
  auto* enable_cmd = user_cmd->add_subcommand("enable", "Enable a disabled user");
  enable_cmd->add_option("user", who, "email or id")->required();
  enable_cmd->add_option("--database", flags.database, "database URL");

  RemoteOptions remote;
  auto add_remote_options = [&](CLI::App* cmd) {
    cmd->add_option("--url", remote.url,
                    "the server, http:// or https://, default MLADMIN_URL or http://127.0.0.1:8080");
    cmd->add_option(
        "--ca-file", remote.ca_file,
        "https: trust the CAs of this PEM file instead of the system's (default MLADMIN_CA_FILE)");
    cmd->add_option("--token", remote.token, "a token from POST /api/auth/login (better: MLADMIN_TOKEN)");
    cmd->add_option("--email", remote.email, "sign in first as this user, the password on stdin");
    cmd->add_flag("--password-stdin", remote.password_stdin, "with --email: read the password from stdin");
    cmd->add_flag("--plain", remote.plain, "plain log lines even on a terminal");
    cmd->add_option("--interval", remote.interval_seconds,
                    "plain lines: at most one progress line per job this often, in seconds (default 1)")
        ->check(CLI::Range(0.0, 3600.0));
  };
  SyncCommandOptions sync_options;
  auto* sync_cmd =
      cli.add_subcommand("sync", "Start a sync on a running server; --follow shows its progress");
  sync_cmd->add_option("type", sync_options.type, "journal_entries (or journal-entries) or goals")
      ->required()
      ->check(CLI::IsMember({"journal_entries", "journal-entries", "goals"}));
  auto* user_opt =
      sync_cmd->add_option("--user", sync_options.user_id, "sync this user's records (ml_admin)");
  sync_cmd->add_flag("--all", sync_options.all, "sync every user's records (ml_admin)")->excludes(user_opt);
  sync_cmd->add_option("--mode", sync_options.mode, "incremental (the default) or full")
      ->check(CLI::IsMember({"full", "incremental"}));
  sync_cmd->add_flag("--follow", sync_options.follow, "show the job's progress until it finishes");
  add_remote_options(sync_cmd);

  JobsCommandOptions jobs_options;
  auto* jobs_cmd = cli.add_subcommand("jobs", "List sync jobs of a running server; --follow shows live ones");
  jobs_cmd->add_option("--status", jobs_options.status,
                       "queued, running, paused, completed, failed, cancelled, interrupted");
  jobs_cmd->add_option("--type", jobs_options.type, "journal_entries, goals, bulk_delete or bulk_resync");
  jobs_cmd->add_option("--limit", jobs_options.limit, "newest jobs to list (1-500, default 20)")
      ->check(CLI::Range(1, 500));
  jobs_cmd->add_flag("--follow", jobs_options.follow, "then show every active job live until Ctrl-C");
  add_remote_options(jobs_cmd);

  MlServiceCheckFlags ml_check;
  auto* ml_cmd = cli.add_subcommand("ml-service", "The external ML service (docs/ml-service-api.md)");
  ml_cmd->require_subcommand(1);
  auto* ml_check_cmd =
      ml_cmd->add_subcommand("check", "Probe an ML service; say rule by rule whether it keeps the contract");
  ml_check_cmd->add_option("--url", ml_check.url, "the service's base URL, as [ml_service] url")->required();
  ml_check_cmd->add_flag("--token-stdin", ml_check.token_stdin,
                         "read the bearer token from stdin (else MLADMIN_ML_SERVICE_TOKEN)");
  ml_check_cmd->add_option("--ca-file", ml_check.ca_file, "PEM bundle to verify an https service with");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }

  // The commands that talk to a server need neither the config nor a database.
  if (sync_cmd->parsed()) {
    return run_sync_command(remote, sync_options);
  }
  if (jobs_cmd->parsed()) {
    return run_jobs_command(remote, jobs_options);
  }
  if (ml_check_cmd->parsed()) {
    return run_ml_service_check(ml_check);
  }

  try {
    const Config base = resolve(flags);
    init_logging(log_level.empty() ? base.log_level : log_level);
    if (serve_cmd->parsed()) {
      return serve(base);
    }
    if (demo_cmd->parsed()) {
      return run_demo(flags, demo_force);
    }
    if (migrate_cmd->parsed()) {
      auto store = open_and_migrate(base);
      std::cout << "schema version " << store->schema_version() << "\n";
      return 0;
    }
    if (import_cmd->parsed()) {
      return run_import(base, import_type, import_file);
    }
    UserTools tools(base);
    if (seed_cmd->parsed()) {
      const auto r = seed_demo(*tools.store, tools.accounts, tools.clock, tools.ids, seed_options);
      std::cout << "seeded " << r.entries << " journal entries and " << r.goals << " goals for "
                << r.emails.size() << " users (" << r.invalid
                << " invalid on purpose); the users' password is " << r.password << "\n";
      return 0;
    }
    if (add_cmd->parsed()) {
      std::string password;
      std::getline(std::cin, password);
      if (!password.empty() && password.back() == '\r') {
        password.pop_back();
      }
      auto user = tools.accounts.create(
          {email, name, password, parse_role_or_throw(role), domain::UserStatus::active}, kCli);
      print_user(user);
      return 0;
    }
    if (list_cmd->parsed()) {
      store::UserQuery q;
      q.limit = 500;
      q.sort = store::UserSortKey::email;
      for (;;) {
        auto page = tools.store->read_value([&](store::Reader& r) { return r.list_users(q); });
        for (const auto& u : page.items) {
          print_user(u);
        }
        if (!page.has_more) {
          break;
        }
        q.after = store::UserCursor{domain::normalize_email(page.items.back().email), page.items.back().id};
      }
      return 0;
    }
    accounts::UserChange change;
    if (set_role_cmd->parsed()) {
      change.role = parse_role_or_throw(role);
    } else if (disable_cmd->parsed()) {
      change.status = domain::UserStatus::disabled;
    } else if (enable_cmd->parsed()) {
      change.status = domain::UserStatus::active;
    }
    print_user(tools.accounts.update(find_user_id(*tools.store, who), change, kCli));
    return 0;
  } catch (const domain::Error& e) {
    std::cerr << "mladmin: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "mladmin: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace mladmin::app
