#pragma once

#include <string>

namespace mladmin::app {

/// What the commands that talk to a running server share: how they reach it (README.md "Syncs from the
/// command line": `--url` and `--ca-file`, `--token` or MLADMIN_TOKEN) and how they show progress.
struct RemoteOptions {
  std::string url;              ///< --url; else MLADMIN_URL; else http://127.0.0.1:8080
  std::string ca_file;          ///< --ca-file; else MLADMIN_CA_FILE; else the system's CA store
  std::string token;            ///< --token; else MLADMIN_TOKEN
  std::string email;            ///< --email: sign in first with the password on stdin
  bool password_stdin = false;  ///< --password-stdin
  bool plain = false;           ///< --plain: log lines even on a terminal
  double interval_seconds = 1;  ///< --interval: plain output's progress lines, at most one per job this often
};

struct SyncCommandOptions {
  std::string type;  ///< journal_entries (or journal-entries) or goals
  std::string user_id;
  bool all = false;
  std::string mode;  ///< "", full or incremental
  bool follow = false;
};

struct JobsCommandOptions {
  std::string status;
  std::string type;
  int limit = 20;
  bool follow = false;
};

/// Exit codes of the commands below.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;          ///< cannot reach the server, refused, bad answer
inline constexpr int kExitJobFailed = 2;      ///< the followed job ended failed or cancelled
inline constexpr int kExitAlreadyActive = 3;  ///< a sync of that scope and type runs (without --follow)
inline constexpr int kExitInterrupted = 130;  ///< Ctrl-C while following one job

/// `mladmin sync TYPE [--user ID | --all] [--mode M] [--follow]`: starts a sync and prints its id;
/// with --follow shows its progress until it finishes (following the already active job on a 409).
/// Messages go to stderr; returns one of the exit codes above.
int run_sync_command(const RemoteOptions& remote, const SyncCommandOptions& options);

/// `mladmin jobs [--status S] [--type T] [--limit N] [--follow]`: the job list as a table; with
/// --follow then the live progress of every active job the caller may read, until Ctrl-C (exit 0).
int run_jobs_command(const RemoteOptions& remote, const JobsCommandOptions& options);

}  // namespace mladmin::app
